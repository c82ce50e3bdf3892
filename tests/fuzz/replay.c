/* replay: runs a libFuzzer harness over its seed corpus without libFuzzer,
 * so the normal test suite (and its sanitizer build) replays every seed. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long len;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	/* An exact-size heap copy, so ASan sees any read past its end. */
	data = malloc(len ? (size_t)len : 1);
	if (data == NULL || fread(data, 1, (size_t)len, f) != (size_t)len) {
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)len);
	free(data);
	return 0;
}

int
main(int argc, char **argv)
{
	int n = 0, failed = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		char path[4096];

		if (d == NULL) {
			printf("not ok %d - open %s\n", ++n, argv[i]);
			failed++;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			int r;

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			r = replay_file(path);
			printf("%sok %d - replay %s\n", r ? "not " : "", ++n,
			    de->d_name);
			failed += r != 0;
		}
		closedir(d);
	}
	printf("1..%d\n", n);
	return failed || n == 0;
}
