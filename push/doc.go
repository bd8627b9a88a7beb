// Package push is the push notification capability (docs/push.md tells users about it):
//
//   - the device registry: each user's app installs, their push tokens (bound to the
//     session that registered them; a token has one owner) and their topics;
//   - campaigns: a notification to all devices, to users, devices, a topic or a segment,
//     now, at a time or at a local time per device, with dry runs, idempotency keys and
//     cancellation. When a campaign starts, its audience becomes one delivery per device;
//     workers that every node runs (Service.Run) claim due deliveries under leases, send
//     them in batches and record each outcome, retrying what the provider could not take
//     and pruning tokens it reports unregistered, so that a device gets a campaign once;
//   - silent sync wake-ups (Service.Notify): a data-only message to the devices of users
//     whose data changed while they had no realtime stream open;
//   - Provider, what sends the messages: LogProvider for development, push/fcm for
//     Firebase Cloud Messaging.
//
// It declares push.Store, which every storage engine implements.
package push
