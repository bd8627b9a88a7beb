package auth

// ForgetVerifiedTokens empties s's cache of verified access tokens, so that the next
// Authenticate checks the token's signature again (the benchmark of a first use).
func ForgetVerifiedTokens(s *Service) {
	s.tokens.clear()
}

// WatchArgon2 makes s tell derived the cost of every argon2id derivation it runs from now
// on. Call it before s serves anything.
func WatchArgon2(s *Service, derived func(p Argon2Params, saltLen, keyLen int)) {
	s.hasher.derived = derived
}

// OnVerify makes s call fn at the start of every password verification (before it waits
// for a hashing slot), so that a test can hold verifications and count them.
func OnVerify(s *Service, fn func()) {
	s.hasher.onVerify = fn
}
