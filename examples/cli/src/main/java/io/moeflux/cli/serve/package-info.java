/** {@code moeflux bench serve}: serving ranks as processes on loopback and their clients. */
@NullMarked
package io.moeflux.cli.serve;

import org.jspecify.annotations.NullMarked;
