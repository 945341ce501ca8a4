/* Unit tests of config/config.c (being written). */
#include "check.h"
int main(void)
{
	return check_done();
}
