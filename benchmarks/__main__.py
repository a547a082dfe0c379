"""``python -m benchmarks``: print the environment the benchmarks record (one ``key: value`` a line).

(asv imports every module of the suite, this one included: nothing runs on import.)
"""

if __name__ == "__main__":
    from benchmarks import metadata
    from benchmarks.common import summary

    for key, value in {**metadata(), **summary()}.items():
        print(f"{key:>24}: {value}")
