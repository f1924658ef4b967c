/**
 * Hugging Face checkpoints as they are published: {@code config.json} plus {@code
 * model.safetensors}, or shards listed by {@code model.safetensors.index.json}.
 *
 * <ul>
 *   <li>{@link io.moeflux.pipeline.checkpoint.SafetensorsFile} parses one file's header and maps
 *       one tensor region at a time, never the whole file;
 *   <li>{@link io.moeflux.pipeline.checkpoint.HfModelConfig} reads {@code config.json} into one of
 *       the supported {@link io.moeflux.pipeline.checkpoint.ModelFamily families}, with the rule
 *       that says which decoder layers are MoE layers;
 *   <li>{@link io.moeflux.pipeline.checkpoint.Checkpoint} opens a model directory, names and reads
 *       a MoE block's tensors (router, routed experts, shared experts) in their stored precision or
 *       widened to float, and digests the configuration and tensor index for the handshake;
 *   <li>{@link io.moeflux.pipeline.checkpoint.SafetensorsWriter} writes safetensors files, and
 *       {@link io.moeflux.pipeline.checkpoint.CheckpointGenerator} writes random checkpoints in
 *       each family's layout (for tests and trials).
 * </ul>
 *
 * Every refusal (a missing file, a malformed header, an unsupported dtype or {@code model_type}, a
 * dense layer asked for by index) is a {@link io.moeflux.pipeline.checkpoint.CheckpointException}
 * with one line that names what is wrong.
 */
@NullMarked
package io.moeflux.pipeline.checkpoint;

import org.jspecify.annotations.NullMarked;
