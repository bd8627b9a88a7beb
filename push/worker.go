package push

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/tideline-dev/tideline"
)

// audiencePage is how many devices the worker reads and stores deliveries for at a time.
const audiencePage = 1000

// Run processes campaigns until ctx ends: it resolves the audiences of campaigns whose
// time has come and sends their deliveries, in Config.Workers loops, and sends the silent
// sync wake-ups Notify asks for. Every node may run it: the store's leases share the work.
//
// When ctx ends, the workers take no new work; a batch being sent gets Config.FinishFor
// to finish and be recorded, and is otherwise cancelled and handed back, so a graceful
// stop leaves no lease for another node to wait out.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.runWaker(ctx) })
	wg.Go(func() { s.runSweeper(ctx) })
	for range s.cfg.Workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				wctx, done := finishing(ctx, s.cfg.FinishFor)
				did, err := s.step(wctx, true)
				done()
				if err != nil && ctx.Err() == nil {
					s.cfg.Logger.ErrorContext(ctx, "push worker", "err", err)
				}
				if did && err == nil {
					continue
				}
				select {
				case <-ctx.Done():
				case <-s.wake:
				case <-time.After(s.cfg.PollEvery):
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// runSweeper clears tokens bound to ended sessions, and deletes the deliveries of
// campaigns that ended more than DeliveryRetention ago, every SweepEvery until ctx ends.
func (s *Service) runSweeper(ctx context.Context) {
	tick := time.NewTicker(s.cfg.SweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if n, err := s.SweepEndedSessions(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "push: sweep of tokens bound to ended sessions", "err", err)
		} else if n > 0 {
			s.cfg.Logger.InfoContext(ctx, "push: unbound tokens of ended sessions", "tokens", n)
		}
		if n, err := s.SweepDeliveries(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.ErrorContext(ctx, "push: sweep of old deliveries", "err", err)
		} else if n > 0 {
			s.cfg.Logger.InfoContext(ctx, "push: deleted old deliveries", "records", n)
		}
	}
}

// wakeWorkers tells idle workers of this node there is work (a campaign was queued).
func (s *Service) wakeWorkers() {
	for range s.cfg.Workers {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// finishing returns a context for one unit of work that ends grace after ctx does.
func finishing(ctx context.Context, grace time.Duration) (context.Context, func()) {
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-wctx.Done():
		}
	})
	return wctx, func() { stop(); cancel() }
}

// Step does one unit of work, if there is one: it resolves the audience of one campaign
// whose time has come, or sends one batch of due deliveries. It says whether it did
// anything. Tests drive the worker with it; a ctx that ends midway is a worker that dies
// there (what it claimed waits for its lease to end), unlike Run's graceful stop.
func (s *Service) Step(ctx context.Context) (bool, error) { return s.step(ctx, false) }

// step is Step; handBack ends the leases of what it claimed but could not send (a
// graceful stop, or an error between the claim and the send).
func (s *Service) step(ctx context.Context, handBack bool) (bool, error) {
	did, err := s.startCampaign(ctx)
	if did || err != nil {
		return did, err
	}
	return s.sendBatch(ctx, handBack)
}

// startCampaign resolves the audience of a campaign whose time has come into deliveries.
// A worker that dies midway loses nothing: its lease ends, another worker starts again,
// and the deliveries already stored are kept (the store skips duplicates), so no device is
// sent the campaign twice.
func (s *Service) startCampaign(ctx context.Context) (bool, error) {
	now := s.clock.Now()
	c, err := s.store.ClaimCampaign(ctx, s.cfg.NodeID, now, now.Add(s.cfg.LeaseFor))
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var sp Spec
	if err := json.Unmarshal(c.Spec, &sp); err != nil {
		return true, fmt.Errorf("push: campaign %s: stored spec: %w", c.ID, err)
	}
	targeted := 0
	err = s.eachAudiencePage(ctx, sp.Target, now, func(ds []Device) error {
		batch := make([]Delivery, 0, len(ds))
		for _, d := range ds {
			batch = append(batch, Delivery{ID: tideline.NewID(), CampaignID: c.ID, DeviceID: d.ID, UserID: d.UserID,
				Due: s.dueFor(sp, c.StartAt, d), Status: DeliveryPending})
		}
		targeted += len(batch)
		if c.DryRun || len(batch) == 0 {
			return nil
		}
		return s.store.AddDeliveries(ctx, batch)
	})
	if err != nil {
		return true, err
	}
	status := CampaignSending
	if c.DryRun || targeted == 0 {
		status = CampaignCompleted
	}
	err = s.store.StartCampaign(ctx, c.ID, s.cfg.NodeID, status, targeted, s.clock.Now())
	if tideline.ErrorCode(err) == tideline.CodeConflict {
		return true, nil // cancelled meanwhile, or another worker took it over
	}
	if err != nil {
		return true, err
	}
	s.counters.started.Add(1)
	if status == CampaignCompleted {
		s.counters.completed.Add(1)
	}
	s.cfg.Logger.InfoContext(ctx, "push campaign started", "campaign", c.ID, "targeted", targeted, "dry_run", c.DryRun)
	if status == CampaignSending {
		// Workers may have sent every delivery already, while the campaign was still
		// queued: then nobody else will see it sending with nothing pending.
		if err := s.finishCampaign(ctx, c.ID); err != nil {
			return true, err
		}
	}
	return true, nil
}

// eachAudiencePage calls fn with the devices t reaches at now, a page at a time (the
// devices with a push token that match t, app versions included).
func (s *Service) eachAudiencePage(ctx context.Context, t Target, now time.Time, fn func([]Device) error) error {
	a, after := audienceOf(t, now), ""
	for {
		ds, err := s.store.ListAudience(ctx, a, after, audiencePage)
		if err != nil || len(ds) == 0 {
			return err
		}
		after = ds[len(ds)-1].ID
		if err := fn(slices.DeleteFunc(ds, func(d Device) bool { return !inVersions(t.Segment, d.AppVersion) })); err != nil {
			return err
		}
	}
}

func audienceOf(t Target, now time.Time) Audience {
	a := Audience{All: t.All, UserIDs: t.UserIDs, DeviceIDs: t.DeviceIDs, Topic: t.Topic}
	if g := t.Segment; g != nil {
		a.All, a.Platforms, a.Locales = true, g.Platforms, g.Locales
		if g.SeenWithin > 0 {
			a.SeenSince = now.Add(-g.SeenWithin)
		}
	}
	return a
}

func inVersions(g *Segment, v string) bool {
	if g == nil || (g.MinAppVersion == "" && g.MaxAppVersion == "") {
		return true
	}
	if v == "" {
		return false
	}
	return (g.MinAppVersion == "" || compareVersions(v, g.MinAppVersion) >= 0) &&
		(g.MaxAppVersion == "" || compareVersions(v, g.MaxAppVersion) <= 0)
}

// dueFor is when the campaign is due on the device: its send time, or the send time's
// wall clock in the device's zone. A local time already past in the device's zone is
// due at once.
func (s *Service) dueFor(sp Spec, start time.Time, d Device) time.Time {
	if !sp.LocalTime {
		return start
	}
	loc := time.UTC
	if d.Timezone != "" {
		if l, err := s.location(d.Timezone); err == nil {
			loc = l
		}
	}
	return wallIn(sp.SendAt, loc)
}

func (s *Service) location(name string) (*time.Location, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.zones[name]; ok {
		return l, nil
	}
	l, err := time.LoadLocation(name)
	if err == nil {
		s.zones[name] = l
	}
	return l, err
}

// sendBatch claims due deliveries, sends them through the provider and records each one's
// outcome. Only deliveries the provider could not take are retried, so a device never gets
// one campaign twice because of our retries. What remains is the window between the
// provider taking a message and the store recording it: a node killed there resends that
// batch once its lease ends; the message's Tag (the campaign id) makes the device show it
// once.
func (s *Service) sendBatch(ctx context.Context, handBack bool) (bool, error) {
	now := s.clock.Now()
	ds, err := s.store.ClaimDeliveries(ctx, s.cfg.NodeID, now, now.Add(s.cfg.LeaseFor), s.cfg.Batch)
	if err != nil || len(ds) == 0 {
		return false, err
	}
	// Outcomes are recorded even if ctx ends: what was sent must not be sent again, and
	// what was not is handed back.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	b, err := s.prepareBatch(ctx, ds, now)
	if err != nil {
		return true, s.giveBack(rctx, ds, now, err, handBack)
	}
	outcomes, stopped := b.unsent, error(nil)
	if len(b.msgs) > 0 {
		results, err := s.sendMessages(ctx, b.msgs, handBack)
		if err != nil {
			return true, err
		}
		if handBack && ctx.Err() != nil {
			stopped = ctx.Err() // what the cancel kept from FCM is handed back, not retried later
		}
		sent, err := s.sentOutcomes(rctx, b, results, now, stopped != nil)
		if err != nil {
			return true, err
		}
		outcomes = append(outcomes, sent...)
	}
	if _, err := s.store.FinishDeliveries(rctx, s.cfg.NodeID, outcomes); err != nil {
		return true, err
	}
	s.counters.count(outcomes)
	if err := s.finishCampaigns(rctx, ds); err != nil {
		return true, err
	}
	return true, stopped
}

// batch is what a worker does with the deliveries it claimed.
type batch struct {
	unsent  []Outcome  // of deliveries whose device was deleted or signed out: cancelled
	msgs    []Message  // to send
	sending []Delivery // the deliveries of msgs, in order
}

// prepareBatch builds the message of each claimed delivery whose device still has a token.
func (s *Service) prepareBatch(ctx context.Context, ds []Delivery, now time.Time) (batch, error) {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.DeviceID
	}
	devices, err := s.store.DevicesByID(ctx, ids)
	if err != nil {
		return batch{}, err
	}
	byID := make(map[string]Device, len(devices))
	for _, d := range devices {
		byID[d.ID] = d
	}
	b := batch{unsent: make([]Outcome, 0, len(ds))}
	for _, d := range ds {
		dev, ok := byID[d.DeviceID]
		if !ok || dev.PushToken == "" {
			b.unsent = append(b.unsent, Outcome{DeliveryID: d.ID, Status: DeliveryCancelled, At: now,
				Error: "the device was deleted or signed out before the send"})
			continue
		}
		sp, err := s.campaignSpec(ctx, d.CampaignID)
		if err != nil {
			return batch{}, err
		}
		b.msgs = append(b.msgs, sp.message(dev, d.CampaignID))
		b.sending = append(b.sending, d)
	}
	return b, nil
}

// giveBack hands claimed deliveries back when this worker cannot send them, if handBack
// (Run's workers; Step's keep them until their leases end, as a dead worker would), and
// returns why.
func (s *Service) giveBack(rctx context.Context, ds []Delivery, now time.Time, why error, handBack bool) error {
	if !handBack {
		return why
	}
	out := make([]Outcome, len(ds))
	for i, d := range ds {
		out[i] = handedBack(d, now, now, why.Error())
	}
	if _, err := s.store.FinishDeliveries(rctx, s.cfg.NodeID, out); err != nil {
		s.cfg.Logger.ErrorContext(rctx, "push worker could not hand deliveries back", "deliveries", len(ds), "err", err)
	}
	return why
}

// sendMessages sends msgs through the provider and returns a result for each, or none
// when ctx ended during the send and handBack says the batch is handed back. When ctx
// ended and not handBack (Step: the worker died), it returns ctx's error and the leases
// end in their time.
func (s *Service) sendMessages(ctx context.Context, msgs []Message, handBack bool) ([]Result, error) {
	sctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	results, err := s.cfg.Provider.Send(sctx, msgs)
	cancel()
	switch {
	case err != nil && ctx.Err() != nil:
		// Stopping. FCM may have taken some of the batch before the cancel; the campaign's
		// Tag makes a device show a resent one once.
		if !handBack {
			return nil, ctx.Err()
		}
		return nil, nil
	case err != nil:
		// Nothing was sent: the provider is misconfigured or unreachable (revoked
		// credentials, say). Operators see it here and in the metrics; the deliveries are
		// retried with backoff.
		s.counters.providerErrors.Add(1)
		s.cfg.Logger.ErrorContext(ctx, "push provider could not send a batch", "provider", s.cfg.Provider.Name(), "messages", len(msgs), "err", err)
		results = make([]Result, len(msgs))
		for i := range results {
			results[i] = Result{Outcome: ResultRetry, Code: "PROVIDER_ERROR", Message: err.Error()}
		}
	}
	return results, nil
}

// sentOutcomes turns the provider's results (nil: none) into the outcomes of b's sent
// deliveries, pruning the tokens the provider reported unregistered. When stopping, what
// the provider did not take is handed back instead of retried later.
func (s *Service) sentOutcomes(rctx context.Context, b batch, results []Result, claimed time.Time, stopping bool) ([]Outcome, error) {
	done := s.clock.Now()
	out := make([]Outcome, 0, len(b.sending))
	for i, d := range b.sending {
		if stopping && (results == nil || results[i].Outcome == ResultRetry) {
			out = append(out, handedBack(d, claimed, done, "the node stopped while sending"))
			continue
		}
		o, prune := s.outcome(d, results[i], done)
		if prune {
			if err := s.store.PruneToken(rctx, b.msgs[i].Token); err != nil {
				return nil, err
			}
		}
		out = append(out, o)
	}
	s.logRetries(rctx, out)
	return out, nil
}

// logRetries tells operators that deliveries of a batch failed for now and when the
// first of them is tried again (a provider's per-message errors are not logged otherwise).
func (s *Service) logRetries(ctx context.Context, out []Outcome) {
	n, first := 0, Outcome{}
	for _, o := range out {
		if o.Status == DeliveryPending && !o.Due.IsZero() {
			if n == 0 || o.Due.Before(first.Due) {
				first = o
			}
			n++
		}
	}
	if n > 0 {
		s.cfg.Logger.WarnContext(ctx, "push deliveries will be retried", "deliveries", n, "next_try", first.Due, "err", first.Error)
	}
}

// finishCampaigns completes the campaigns of ds that have nothing left to send.
func (s *Service) finishCampaigns(rctx context.Context, ds []Delivery) error {
	campaigns := make([]string, 0, 1)
	for _, d := range ds {
		if !slices.Contains(campaigns, d.CampaignID) {
			campaigns = append(campaigns, d.CampaignID)
		}
	}
	for _, id := range campaigns {
		if err := s.finishCampaign(rctx, id); err != nil {
			return err
		}
	}
	return nil
}

// finishCampaign completes campaign id if it is sending with nothing left to send, and
// then counts and logs its completion, wherever the completion is found: after a batch,
// or when the campaign is marked sending after other workers already sent it all.
func (s *Service) finishCampaign(ctx context.Context, id string) error {
	finished, err := s.store.FinishCampaign(ctx, id, s.clock.Now())
	if err != nil || !finished {
		return err
	}
	s.counters.completed.Add(1)
	s.cfg.Logger.InfoContext(ctx, "push campaign completed", "campaign", id)
	s.forgetSpec(id)
	return nil
}

// handedBack is the outcome of a delivery this worker claimed and gives up without
// sending: its lease ends and it is due again at due (a try is counted, as for a lease
// that runs out).
func handedBack(d Delivery, due, at time.Time, why string) Outcome {
	return Outcome{DeliveryID: d.ID, Status: DeliveryPending, Due: due, At: at, Error: "handed back: " + why}
}

// outcome turns a provider's result into the delivery's outcome, and says whether the
// token is to be pruned.
func (s *Service) outcome(d Delivery, r Result, at time.Time) (Outcome, bool) {
	o := Outcome{DeliveryID: d.ID, At: at}
	why := r.Code
	if r.Message != "" {
		why += ": " + r.Message
	}
	switch r.Outcome {
	case ResultSent:
		o.Status = DeliverySent
	case ResultUnregistered:
		o.Status, o.Error = DeliveryPruned, why
		return o, true
	case ResultRetry:
		if d.Attempts >= s.cfg.MaxAttempts {
			o.Status, o.Error = DeliveryFailed, fmt.Sprintf("gave up after %d attempts: %s", d.Attempts, why)
			break
		}
		o.Status, o.Error, o.Due = DeliveryPending, why, at.Add(max(r.RetryAfter, s.backoff(d.Attempts)))
	default:
		o.Status, o.Error = DeliveryFailed, why
	}
	return o, false
}

// backoff is the wait before attempt n+1: exponential from RetryBase, with jitter, at
// most RetryMax.
func (s *Service) backoff(attempts int) time.Duration {
	d := s.cfg.RetryBase << min(max(attempts-1, 0), 20)
	if d > s.cfg.RetryMax || d <= 0 {
		d = s.cfg.RetryMax
	}
	return d/2 + rand.N(d/2+1)
}

// campaignSpec returns a campaign's spec, cached: campaigns never change what they send.
func (s *Service) campaignSpec(ctx context.Context, id string) (Spec, error) {
	s.mu.Lock()
	sp, ok := s.specs[id]
	s.mu.Unlock()
	if ok {
		return sp, nil
	}
	c, err := s.store.GetCampaign(ctx, id)
	if err != nil {
		return Spec{}, err
	}
	if err := json.Unmarshal(c.Spec, &sp); err != nil {
		return Spec{}, fmt.Errorf("push: campaign %s: stored spec: %w", id, err)
	}
	s.mu.Lock()
	if len(s.specs) >= 1000 {
		clear(s.specs)
	}
	s.specs[id] = sp
	s.mu.Unlock()
	return sp, nil
}

func (s *Service) forgetSpec(id string) {
	s.mu.Lock()
	delete(s.specs, id)
	s.mu.Unlock()
}

// message is the campaign's message to one device.
func (sp Spec) message(d Device, campaignID string) Message {
	m := Message{
		Token: d.PushToken, Platform: d.Platform, Data: sp.Data,
		Title: sp.Notification.Title, Body: sp.Notification.Body, ImageURL: sp.Notification.ImageURL,
		Priority: sp.Options.Priority, TTL: sp.Options.TTL, CollapseKey: sp.Options.CollapseKey,
		Badge: sp.Options.Badge, Sound: sp.Options.Sound, Silent: sp.Options.Silent, Tag: campaignID,
	}
	if m.Priority == "" {
		m.Priority = "high"
	}
	return m
}
