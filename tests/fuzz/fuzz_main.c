/*
 * fuzz_main.c: runs a libFuzzer target over files without libFuzzer, for
 * compilers that have none (gcc): every file named on the command line,
 * or every file in a directory named there, goes through
 * LLVMFuzzerTestOneInput once.  The seed corpus thus stays a regression
 * test everywhere; the fuzzing itself needs clang.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        fprintf(stderr, "fuzz: could not read %s\n", path);
        if (f != NULL)
            fclose(f);
        return 1;
    }
    rewind(f);
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int failed = 0, count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (argv[i][0] == '-')
            continue; /* libFuzzer flags */
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d != NULL && (e = readdir(d)) != NULL) {
                char path[4096];
                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                failed |= run_file(path);
                count++;
            }
            if (d != NULL)
                closedir(d);
        } else {
            failed |= run_file(argv[i]);
            count++;
        }
    }
    printf("fuzz: %d inputs run without libFuzzer\n", count);
    return failed || count == 0;
}
