package auth

// ForgetVerifiedTokens empties s's cache of verified access tokens, so that the next
// Authenticate checks the token's signature again (the benchmark of a first use).
func ForgetVerifiedTokens(s *Service) {
	s.tokens.clear()
}
