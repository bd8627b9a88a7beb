package auth

import "time"

// RoleAdmin is the role that grants the admin API.
const RoleAdmin = "admin"

// User is an account. Anonymous users have no email and no password until they are linked.
type User struct {
	ID string
	// Email is normalised (see NormalizeEmail) and unique among users; "" when none.
	Email         string
	EmailVerified bool
	// PasswordHash is an argon2id hash in PHC string format; "" when the user has no
	// password (anonymous, or signed in only with an external identity).
	PasswordHash string
	Anonymous    bool
	Disabled     bool
	// Roles are sorted and unique.
	Roles       []string
	DisplayName string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Version is 1 when created and grows by one with every update; Store.UpdateUser
	// writes only when the stored version is still the one read.
	Version int64
}

// HasRole reports whether the user has role.
func (u User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Identity links a user to an account at an external identity provider.
type Identity struct {
	// Provider is "oidc:<name>" or "firebase".
	Provider string
	// Subject is the provider's stable id of the account (the token's sub claim).
	Subject   string
	UserID    string
	Email     string
	CreatedAt time.Time
}

// Session is one signed-in device. Its refresh tokens rotate on every use; revoking the
// session ends all of them.
type Session struct {
	ID         string
	UserID     string
	DeviceName string
	Platform   string
	UserAgent  string
	IP         string
	CreatedAt  time.Time
	LastUsedAt time.Time
	// ExpiresAt moves forward on every refresh (sliding expiry).
	ExpiresAt time.Time
	// RevokedAt is zero while the session is active.
	RevokedAt time.Time
}

// RefreshToken is the stored form of an opaque refresh token: only its hash is kept.
type RefreshToken struct {
	// Hash is the hex SHA-256 of the token.
	Hash      string
	SessionID string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is zero until the token is spent (exchanged for its successor).
	UsedAt time.Time
}

// SigningKey is a key that signs access tokens. Exactly one key is active (the newest
// unretired one signs); retired keys keep verifying until the tokens they signed expire.
type SigningKey struct {
	// ID is the JWT kid.
	ID string
	// Algorithm is the JWT alg, "EdDSA".
	Algorithm string
	// PrivateKey is PKCS #8 DER; PublicKey is PKIX DER.
	PrivateKey []byte
	PublicKey  []byte
	CreatedAt  time.Time
	// RetiredAt is zero while the key signs.
	RetiredAt time.Time
}

// Action token kinds.
const (
	ActionVerifyEmail   = "verify_email"
	ActionResetPassword = "reset_password"
)

// ActionToken is the stored form of a single-use emailed token (email verification,
// password reset): only its hash is kept.
type ActionToken struct {
	Hash      string
	Kind      string
	UserID    string
	Email     string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// AdminKey is the stored form of an admin API key: only its hash is kept; the key itself
// is shown once, when it is created.
type AdminKey struct {
	ID   string
	Name string
	// Hash is the hex SHA-256 of the key.
	Hash string
	// Prefix is the key's first characters, shown in lists to tell keys apart.
	Prefix     string
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// AuditEvent records one auth event.
type AuditEvent struct {
	// ID orders events: a later event has a greater ID.
	ID   string
	At   time.Time
	Type string
	// UserID is the user the event is about ("" when unknown, as for a failed login
	// with an unknown email).
	UserID    string
	SessionID string
	// Actor is who did it when it is not the user: "admin-key:<id>", "user:<id>", "cli".
	Actor  string
	IP     string
	Detail map[string]string
}
