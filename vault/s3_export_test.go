package vault

// ParseRetention is parseRetention, for the tests of package vault_test.
var ParseRetention = parseRetention
