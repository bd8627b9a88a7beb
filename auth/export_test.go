package auth

// ForgetVerifiedTokens empties s's cache of verified access tokens, so that the next
// Authenticate checks the token's signature again (the benchmark of a first use).
func ForgetVerifiedTokens(s *Service) {
	s.tokens.clear()
}

// OnVerify makes s call fn at the start of every password verification (before it waits
// for a hashing slot), so that a test can hold verifications and count them.
func OnVerify(s *Service, fn func()) {
	s.hasher.onVerify = fn
}
