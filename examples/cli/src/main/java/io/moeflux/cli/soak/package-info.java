/**
 * {@code moeflux soak}: a long run under steady client load with rebalancing, every output checked
 * bitwise, and the process's heap, direct memory, threads and file descriptors watched.
 */
@NullMarked
package io.moeflux.cli.soak;

import org.jspecify.annotations.NullMarked;
