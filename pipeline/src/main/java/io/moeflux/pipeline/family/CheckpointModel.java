package io.moeflux.pipeline.family;

import io.moeflux.pipeline.checkpoint.Checkpoint;
import io.moeflux.pipeline.checkpoint.ExpertTensors;
import io.moeflux.pipeline.checkpoint.HfModelConfig;
import io.moeflux.pipeline.checkpoint.ModelFamily;
import io.moeflux.pipeline.checkpoint.Projection;
import io.moeflux.pipeline.checkpoint.TensorDtype;
import io.moeflux.pipeline.checkpoint.TensorInfo;
import io.moeflux.pipeline.kernel.ExpertKernel;
import io.moeflux.pipeline.kernel.ExpertKernels;
import io.moeflux.pipeline.model.ExpertFfn;
import io.moeflux.pipeline.model.ExpertKind;
import io.moeflux.pipeline.model.MoeModel;
import io.moeflux.pipeline.model.SharedExpert;
import io.moeflux.pipeline.model.TokenRouter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * The MoE blocks of a Hugging Face checkpoint as a {@link MoeModel}: one MoE layer per step, no
 * residual, the family's router, routed experts in their stored precision computed by an {@link
 * ExpertKernel}, and the shared expert (Qwen2-MoE: gated per token; DeepSeek-V3: added as is).
 *
 * <p>Routers and shared experts are loaded on first use and kept (every rank runs every layer and
 * holds them all); routed experts are loaded from the checkpoint on every {@link #expert} call and
 * kept only by whoever asked, so a rank holds exactly the experts its placement gives it. A rank
 * that gains an expert in a migration loads it from its own checkpoint ({@link
 * #loadsMovedExperts()}): the handshake has checked that every rank opened the same one.
 *
 * <p>Thread-safe; several ranks of one JVM may share an instance. {@link #close()} closes the
 * checkpoint.
 */
public final class CheckpointModel implements MoeModel, AutoCloseable {
  private final Checkpoint checkpoint;
  private final HfModelConfig config;
  private final ExpertKernel kernel;
  private final int[] layerIds;
  private final AtomicReferenceArray<@Nullable TokenRouter> routers;
  private final AtomicReferenceArray<@Nullable SharedExpert> shared;

  private CheckpointModel(Checkpoint checkpoint, ExpertKernel kernel) {
    this.checkpoint = checkpoint;
    this.config = checkpoint.config();
    this.kernel = kernel;
    this.layerIds = checkpoint.moeLayers();
    this.routers = new AtomicReferenceArray<>(layerIds.length);
    this.shared = new AtomicReferenceArray<>(layerIds.length);
  }

  /**
   * Opens the model directory {@code directory} with this JVM's preferred kernel ({@link
   * ExpertKernels#preferred()}).
   *
   * @throws io.moeflux.pipeline.checkpoint.CheckpointException when it cannot be served
   */
  public static CheckpointModel open(Path directory) {
    return of(Checkpoint.open(directory), ExpertKernels.preferred());
  }

  /**
   * The model of an open checkpoint, computed by {@code kernel}; closing it closes the checkpoint.
   */
  public static CheckpointModel of(Checkpoint checkpoint, ExpertKernel kernel) {
    return new CheckpointModel(
        Objects.requireNonNull(checkpoint, "checkpoint"), Objects.requireNonNull(kernel, "kernel"));
  }

  public Checkpoint checkpoint() {
    return checkpoint;
  }

  public ModelFamily family() {
    return config.family();
  }

  public ExpertKernel kernel() {
    return kernel;
  }

  @Override
  public String describe() {
    return config.family().modelType()
        + " checkpoint "
        + checkpoint.directory()
        + " (hidden "
        + config.hidden()
        + ", MoE layers "
        + config.describeLayers()
        + " of "
        + config.decoderLayers()
        + ", "
        + config.experts()
        + " experts, top-"
        + config.topK()
        + (config.hasSharedExpert() ? ", shared expert" : "")
        + ", digest "
        + checkpoint.digest().substring(0, 12)
        + ")";
  }

  @Override
  public int hidden() {
    return config.hidden();
  }

  @Override
  public int experts() {
    return config.experts();
  }

  @Override
  public int topK() {
    return config.topK();
  }

  @Override
  public int layers() {
    return layerIds.length;
  }

  @Override
  public int layerId(int layer) {
    return layerIds[Objects.checkIndex(layer, layerIds.length)];
  }

  @Override
  public int layerOf(int layerId) {
    int at = Arrays.binarySearch(layerIds, layerId);
    return at < 0 ? -1 : at;
  }

  @Override
  public boolean runsEveryLayerPerStep() {
    return false;
  }

  @Override
  public ExpertKind expertKind() {
    return ExpertKind.SWIGLU;
  }

  @Override
  public TokenRouter router(int layer) {
    TokenRouter router = routers.get(Objects.checkIndex(layer, layerIds.length));
    if (router != null) {
      return router;
    }
    TokenRouter loaded = loadRouter(layerIds[layer]);
    return routers.compareAndSet(layer, null, loaded) ? loaded : routers.get(layer);
  }

  private TokenRouter loadRouter(int layerId) {
    float[] weight = checkpoint.routerWeight(layerId);
    if (config.family() == ModelFamily.DEEPSEEK_V3) {
      return new SigmoidGroupRouter(
          config.hidden(),
          config.experts(),
          config.topK(),
          weight,
          Objects.requireNonNull(checkpoint.correctionBias(layerId)),
          config.groups(),
          config.topkGroups(),
          config.normTopkProb(),
          (float) config.routedScalingFactor());
    }
    return new SoftmaxTopKRouter(
        config.hidden(), config.experts(), config.topK(), weight, config.normTopkProb());
  }

  @Override
  public ExpertFfn expert(int layer, int logicalExpert) {
    Objects.checkIndex(logicalExpert, config.experts());
    return new StoredExpert(checkpoint.expert(layerId(layer), logicalExpert), kernel);
  }

  @Override
  public @Nullable SharedExpert sharedExpert(int layer) {
    int layerId = layerId(layer);
    if (!config.hasSharedExpert()) {
      return null;
    }
    SharedExpert expert = shared.get(layer);
    if (expert != null) {
      return expert;
    }
    ExpertTensors tensors = Objects.requireNonNull(checkpoint.sharedExpert(layerId));
    StoredExpert ffn = new StoredExpert(tensors, kernel);
    float[] gate = checkpoint.sharedExpertGate(layerId);
    SharedExpert loaded = gate == null ? SharedExpert.ungated(ffn) : SharedExpert.gated(ffn, gate);
    return shared.compareAndSet(layer, null, loaded) ? loaded : shared.get(layer);
  }

  @Override
  public long expertBytes(int layer) {
    ModelFamily f = config.family();
    int id = layerId(layer);
    long bytes = 0;
    for (Projection p : Projection.values()) {
      bytes += storedBytes(f.expertWeight(id, 0, p));
    }
    return bytes;
  }

  @Override
  public long routerBytes(int layer) {
    long bytes = (long) config.experts() * config.hidden() * Float.BYTES;
    return config.family() == ModelFamily.DEEPSEEK_V3
        ? bytes + (long) config.experts() * Float.BYTES
        : bytes;
  }

  @Override
  public long sharedExpertBytes(int layer) {
    int id = layerId(layer);
    if (!config.hasSharedExpert()) {
      return 0;
    }
    ModelFamily f = config.family();
    long bytes = 0;
    for (Projection p : Projection.values()) {
      bytes += storedBytes(Objects.requireNonNull(f.sharedWeight(id, p)));
    }
    return f.sharedGate(id) == null ? bytes : bytes + (long) config.hidden() * Float.BYTES;
  }

  /** Bytes a tensor takes once loaded: as stored, F8_E4M3 dequantized to bf16. */
  private long storedBytes(String name) {
    TensorInfo info = checkpoint.tensor(name);
    if (info == null) {
      return 0;
    }
    TensorDtype dtype = TensorDtype.parse(info.dtype());
    int bytes = dtype == null || dtype == TensorDtype.F8_E4M3 ? 2 : dtype.bytes();
    return info.elements() * bytes;
  }

  @Override
  public boolean loadsMovedExperts() {
    return true;
  }

  /**
   * {@code model} (the family), {@code checkpoint} (the digest of config.json and the tensor index)
   * and {@code kernel} (the expert arithmetic).
   */
  @Override
  public Map<String, String> fingerprint() {
    Map<String, String> entries = new LinkedHashMap<>();
    entries.put("model", config.family().modelType() + " checkpoint");
    entries.put("checkpoint", checkpoint.digest());
    entries.put("kernel", kernel.name());
    return entries;
  }

  @Override
  public void close() {
    checkpoint.close();
  }

  @Override
  public String toString() {
    return "CheckpointModel{" + describe() + "}";
  }
}
