/**
 * What {@code moeflux forward} reads and writes around the distributed MoE block: the input and
 * output safetensors files ({@link io.moeflux.cli.forward.HiddenStatesFile}) and the contiguous,
 * unequal split of the tokens over the ranks ({@link io.moeflux.cli.forward.TokenSplit}).
 */
@NullMarked
package io.moeflux.cli.forward;

import org.jspecify.annotations.NullMarked;
