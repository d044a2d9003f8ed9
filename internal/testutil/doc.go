// Package testutil holds the fixtures and checks shared by Skiff's tests: real
// prerequisites (root, binaries) that skip outside CI and fail in CI, a busybox
// OCI image built from the host's busybox-static, Debian's docker-registry on a
// free loopback port, pushes with go-containerregistry, and a leak check that
// runs after every other cleanup of a test.
//
// The usual shape of an engine test:
//
//	func TestRun(t *testing.T) {
//		testutil.RequireRoot(t)
//		root := t.TempDir()
//		testutil.CheckLeaks(t, root, testutil.WithCgroupPrefix(prefix)) // first: its check runs last
//		reg := testutil.StartRegistry(t)
//		testutil.PushImage(t, reg+"/busybox:latest", testutil.Busybox(t))
//		...
//	}
//
// Prerequisites follow one rule: when something a test needs is missing, the
// test is skipped with the reason, unless the environment variable CI is
// "true", in which case it fails.
package testutil
