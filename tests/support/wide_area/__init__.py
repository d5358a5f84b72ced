"""An emulated wide-area network for tests and benchmarks: network namespaces joined by
user-space links with a rate, a one-way delay and a bounded queue (`network.WideAreaNetwork`)."""
