/** Pictures of expert heat, as SVG. */
@NullMarked
package io.moeflux.serving.picture;

import org.jspecify.annotations.NullMarked;
