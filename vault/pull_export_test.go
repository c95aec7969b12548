package vault

import "time"

// The pull loop's pauses, shortened so that the tests take seconds.
func init() {
	retryFirst = 20 * time.Millisecond
	retryMax = 100 * time.Millisecond
	heldEvery = 100 * time.Millisecond
	approvalEvery = 20 * time.Millisecond
	reportEvery = 20 * time.Millisecond
	s3RetryFirst = 20 * time.Millisecond
	s3RetryMax = 100 * time.Millisecond
	s3BehindAfter = 500 * time.Millisecond
	s3ExtendRetry = 100 * time.Millisecond
}
