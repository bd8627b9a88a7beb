package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/tideline-dev/tideline/auth"
)

// smtpSink is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that keeps what it
// receives.
type smtpSink struct {
	addr   string
	roots  *x509.CertPool
	mu     sync.Mutex
	got    []received
	authed bool
}

type received struct {
	from, to string
	data     []byte
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink     *smtpSink
	from, to string
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "mailer" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.sink.mu.Lock()
		s.sink.authed = true
		s.sink.mu.Unlock()
		return nil
	}), nil
}
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error   { s.to = to; return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.sink.mu.Lock()
	s.sink.got = append(s.sink.got, received{s.from, s.to, b})
	s.sink.mu.Unlock()
	return err
}
func (s *sinkSession) Reset()        {}
func (s *sinkSession) Logout() error { return nil }

// startSink starts the server; with tlsMode "starttls" it offers STARTTLS, with "implicit"
// it speaks TLS from the start, with "none" it has no TLS.
func startSink(t *testing.T, tlsMode string) *smtpSink {
	t.Helper()
	sink := &smtpSink{}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsMode != "none" {
		cert, roots := selfSigned(t)
		sink.roots = roots
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		if tlsMode == "implicit" {
			ln = tls.NewListener(ln, srv.TLSConfig)
		}
	}
	sink.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sink
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, roots
}

func TestSMTPMailer(t *testing.T) {
	t.Parallel()
	msg := auth.Email{To: "ada@example.com", Subject: "Réinitialiser ✓", Text: "Bonjour,\nvoici le lien: https://app.example.com/reset?token=tlact_abc\n"}
	for _, mode := range []string{"starttls", "implicit"} {
		t.Run(mode, func(t *testing.T) {
			sink := startSink(t, mode)
			m := auth.SMTPMailer{Addr: sink.addr, From: "noreply@example.com", Username: "mailer", Password: "s3cret", RequireTLS: true,
				ImplicitTLS: mode == "implicit", TLS: &tls.Config{RootCAs: sink.roots, ServerName: "127.0.0.1"}}
			if err := m.Send(t.Context(), msg); err != nil {
				t.Fatal(err)
			}
			if len(sink.got) != 1 || !sink.authed {
				t.Fatalf("sink got %d messages, authed %v", len(sink.got), sink.authed)
			}
			r := sink.got[0]
			parsed, err := mail.ReadMessage(strings.NewReader(string(r.data)))
			if err != nil {
				t.Fatal(err)
			}
			subject, _ := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
			body, _ := io.ReadAll(quotedprintable.NewReader(parsed.Body))
			if r.from != "noreply@example.com" || r.to != msg.To || subject != msg.Subject || strings.ReplaceAll(string(body), "\r\n", "\n") != msg.Text {
				t.Fatalf("received from %q to %q subject %q body %q", r.from, r.to, subject, body)
			}
		})
	}
	t.Run("ErrTLSRequiredButNotOffered", func(t *testing.T) {
		sink := startSink(t, "none")
		m := auth.SMTPMailer{Addr: sink.addr, From: "noreply@example.com", RequireTLS: true}
		if err := m.Send(t.Context(), msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("err = %v", err)
		}
		if len(sink.got) != 0 {
			t.Fatal("sent in the clear")
		}
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		sink := startSink(t, "starttls")
		m := auth.SMTPMailer{Addr: sink.addr, From: "noreply@example.com", Username: "mailer", Password: "nope", TLS: &tls.Config{RootCAs: sink.roots, ServerName: "127.0.0.1"}}
		if err := m.Send(t.Context(), msg); err == nil {
			t.Fatal("sent with a wrong password")
		}
	})
	t.Run("ErrHeaderInjection", func(t *testing.T) {
		sink := startSink(t, "none")
		m := auth.SMTPMailer{Addr: sink.addr, From: "noreply@example.com"}
		bad := msg
		bad.To = "ada@example.com\r\nBcc: everyone@example.com"
		if err := m.Send(t.Context(), bad); err == nil {
			t.Fatal("a header with a line break was sent")
		}
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		if err := (auth.SMTPMailer{Addr: "127.0.0.1:1", From: "x@example.com"}).Send(ctx, msg); err == nil {
			t.Fatal("no error")
		}
	})
}
