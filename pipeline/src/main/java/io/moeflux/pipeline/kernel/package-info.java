/**
 * Expert kernels: the arithmetic of a SwiGLU expert over weights in their stored precision (bf16,
 * f16, f32), widened in registers and accumulated in float32. An {@link
 * io.moeflux.pipeline.kernel.ExpertKernel} packs an expert's matrices once, at load, into a {@link
 * io.moeflux.pipeline.kernel.PackedExpert}. {@link io.moeflux.pipeline.kernel.ExpertKernels} picks
 * the vector kernel (the JDK Vector API, {@code --add-modules jdk.incubator.vector}) or the scalar
 * fallback. Every output element is an fma chain over ascending input index and the activation is
 * {@link io.moeflux.pipeline.kernel.Silu}'s, so batching never changes a bit. The package depends
 * on nothing else in moeflux.
 */
@NullMarked
package io.moeflux.pipeline.kernel;

import org.jspecify.annotations.NullMarked;
