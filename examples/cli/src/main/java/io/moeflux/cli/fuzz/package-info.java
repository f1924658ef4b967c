/**
 * {@code moeflux fuzz}: random and mutated inputs for the decoders (in process), a live rank's mesh
 * server (from connections without the secret) and a live {@code serve} (from an authenticated
 * client), and the checks that the target still answers and leaked nothing.
 */
@NullMarked
package io.moeflux.cli.fuzz;

import org.jspecify.annotations.NullMarked;
