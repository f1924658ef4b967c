/**
 * The MoE blocks of checkpoint families as a {@link io.moeflux.pipeline.model.MoeModel}: {@link
 * io.moeflux.pipeline.family.CheckpointModel} loads a checkpoint's routers, shared experts and the
 * routed experts a rank asks for, and the two router functions the families use, {@link
 * io.moeflux.pipeline.family.SoftmaxTopKRouter} (Mixtral, Qwen2-MoE, Qwen3-MoE) and {@link
 * io.moeflux.pipeline.family.SigmoidGroupRouter} (DeepSeek-V3). The semantics are those of the
 * transformers implementations; ties between equal scores go to the lower expert (or group) id.
 */
@NullMarked
package io.moeflux.pipeline.family;

import org.jspecify.annotations.NullMarked;
