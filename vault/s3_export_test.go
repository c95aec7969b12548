package vault

import (
	"context"
	"time"
)

// ParseRetention is parseRetention, for the tests of package vault_test.
var ParseRetention = parseRetention

// RetentionOf is Retention of one version of key, for the tests of package
// vault_test.
func (s *S3) RetentionOf(ctx context.Context, key, version string) (string, time.Time, error) {
	return s.retention(ctx, key, version)
}
