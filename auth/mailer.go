package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
)

// Email is a plain-text message to one recipient.
type Email struct {
	To      string
	Subject string
	Text    string
}

// Mailer sends email. Implementations: LogMailer (development) and SMTPMailer.
type Mailer interface {
	Send(ctx context.Context, e Email) error
}

// LogMailer writes emails to the log instead of sending them, links and all: for
// development, where a developer copies the link from the log.
type LogMailer struct{ Logger *slog.Logger }

// Send logs e.
func (m LogMailer) Send(ctx context.Context, e Email) error {
	m.Logger.InfoContext(ctx, "email (log mailer: not sent)", "to", e.To, "subject", e.Subject, "text", e.Text)
	return nil
}

// SMTPMailer sends email through an SMTP server.
type SMTPMailer struct {
	// Addr is the server's host:port.
	Addr string
	// From is the sender address.
	From string
	// Username and Password authenticate (PLAIN) when Username is set; net/smtp refuses
	// to send them over an unencrypted connection except to localhost.
	Username, Password string
	// ImplicitTLS connects with TLS from the start (port 465). Otherwise the connection is
	// upgraded with STARTTLS when the server offers it, and must be when RequireTLS is set.
	ImplicitTLS bool
	RequireTLS  bool
	// TLS configures the TLS connection; nil means the system's roots and Addr's host.
	TLS *tls.Config
}

// Send delivers e, within ctx's deadline (30 s when it has none).
func (m SMTPMailer) Send(ctx context.Context, e Email) error {
	if strings.ContainsAny(e.To+e.Subject+m.From, "\r\n") {
		return errors.New("smtp: header value contains a line break")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", m.Addr, err)
	}
	tlsCfg := m.TLS
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if m.ImplicitTLS {
		conn = tls.Client(conn, tlsCfg)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if !m.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return fmt.Errorf("smtp STARTTLS: %w", err)
			}
		} else if m.RequireTLS {
			return errors.New("smtp: the server does not offer STARTTLS and TLS is required")
		}
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(m.From); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(e.To); err != nil {
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(m.message(e)); err != nil {
		return fmt.Errorf("smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end of data: %w", err)
	}
	return c.Quit()
}

// message renders e as an RFC 5322 message with a quoted-printable UTF-8 body.
func (m SMTPMailer) message(e Email) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@tideline>\r\n",
		m.From, e.To, mime.QEncoding.Encode("utf-8", e.Subject), time.Now().UTC().Format(time.RFC1123Z), tideline.NewID())
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(e.Text, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// outbox sends emails in the background, so that a request answers in the same time
// whether or not it sent one (forgot-password must not reveal which emails have accounts).
type outbox struct {
	mailer Mailer
	log    *slog.Logger
	queue  chan queuedEmail
	done   chan struct{}
}

// queuedEmail is an email waiting to be sent, with the context of the request that sent
// it, stripped of its cancellation (the request is long over when the email goes) and
// bounded anew: its request id still stamps what is logged about it.
type queuedEmail struct {
	ctx context.Context
	Email
}

func newOutbox(m Mailer, log *slog.Logger) *outbox {
	o := &outbox{mailer: m, log: log, queue: make(chan queuedEmail, 1000), done: make(chan struct{})}
	go o.run()
	return o
}

func (o *outbox) run() {
	defer close(o.done)
	for e := range o.queue {
		ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
		if err := o.mailer.Send(ctx, e.Email); err != nil {
			o.log.ErrorContext(ctx, "email not sent", "to", e.To, "subject", e.Subject, "err", err.Error())
		}
		cancel()
	}
}

// enqueue queues e; when the queue is full the email is dropped and logged.
func (o *outbox) enqueue(ctx context.Context, e Email) {
	select {
	case o.queue <- queuedEmail{context.WithoutCancel(ctx), e}:
	default:
		o.log.ErrorContext(ctx, "email dropped: the outbox is full", "to", e.To, "subject", e.Subject)
	}
}

// close stops accepting emails and waits until the queued ones are sent.
func (o *outbox) close() {
	close(o.queue)
	<-o.done
}
