/** Pictures of expert heat, as SVG. */
package io.moeflux.serving.picture;
