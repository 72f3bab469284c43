/* tests/integration/test_install.c - make install, pkg-config, shared and static
 * linking of a host program. */
#include "sonde.h"
#include "test.h"

TEST_TIMEOUT(install_pkgconfig_shared_and_static, 120)
{
	const char *argv[] = {"bash", SONDE_SRC_DIR "/tests/tools/install_check.sh", SONDE_SRC_DIR,
	                      NULL};
	char *out = NULL;
	int rc = sonde_test_run(argv, NULL, &out);

	if (rc != 0)
		FAIL("install_check.sh exit %d:\n%s", rc, out);
	ASSERT_CONTAINS(out, "install ok");
	free(out);
}
