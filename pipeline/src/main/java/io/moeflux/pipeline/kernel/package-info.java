/**
 * Expert kernels over weights in their stored precision: an {@link
 * io.moeflux.pipeline.kernel.ExpertKernel} computes a SwiGLU expert from {@code [out, in]} matrices
 * of bf16, f16 or f32, widening each weight as it is used and accumulating in float32, in one fixed
 * summation order per output element. {@link io.moeflux.pipeline.kernel.StoredExpert} puts a
 * checkpoint expert and a kernel behind {@link io.moeflux.pipeline.model.ExpertFfn}, so a faster
 * kernel replaces {@link io.moeflux.pipeline.kernel.ScalarExpertKernel} without touching the
 * pipeline.
 */
@NullMarked
package io.moeflux.pipeline.kernel;

import org.jspecify.annotations.NullMarked;
