"""The example datasets as per-party Worker data folders (`synergos-datasets OUT_DIR`).

`builder` writes the folders and the manifest; `sources` loads scikit-learn's bundled data;
`partition` splits rows between parties (IID or label-skewed); `seed_tags` writes the tag
layout of the seeds' Driver example.
"""
