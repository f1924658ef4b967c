package io.moeflux.pipeline.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * A Hugging Face model directory as published: {@code config.json} and either {@code
 * model.safetensors} or shards listed by {@code model.safetensors.index.json} ({@code weight_map}:
 * tensor name → shard file). Opening reads the configuration and every shard's header, nothing
 * else; a MoE block's tensors are read one at a time, on demand, each mapped and copied into memory
 * in its stored precision and unmapped at once (see {@link SafetensorsFile}).
 *
 * <p>Layers are named by decoder-layer index, as in the tensor names; {@link #moeIndex(int)}
 * refuses a dense layer naming it. DeepSeek-V3 weights stored in F8_E4M3 are dequantized to bf16 as
 * they are read, with their {@code weight_scale_inv} block scales.
 *
 * <p>Thread-safe; {@link #close()} releases the files.
 */
public final class Checkpoint implements AutoCloseable {
  public static final String CONFIG = "config.json";
  public static final String SINGLE_FILE = "model.safetensors";
  public static final String INDEX = "model.safetensors.index.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path directory;
  private final HfModelConfig config;
  private final List<SafetensorsFile> files;
  private final Map<String, SafetensorsFile> fileOf;
  private final Map<String, TensorInfo> tensors;
  private final String digest;

  private Checkpoint(
      Path directory,
      HfModelConfig config,
      List<SafetensorsFile> files,
      Map<String, SafetensorsFile> fileOf,
      byte[] configBytes) {
    this.directory = directory;
    this.config = config;
    this.files = List.copyOf(files);
    this.fileOf = fileOf;
    Map<String, TensorInfo> all = new LinkedHashMap<>();
    fileOf.forEach((name, file) -> all.put(name, Objects.requireNonNull(file.tensor(name))));
    this.tensors = Collections.unmodifiableMap(all);
    this.digest = digest(configBytes, fileOf);
  }

  /**
   * Opens the model directory {@code directory}.
   *
   * @throws CheckpointException when a file is missing or malformed, the model type is not
   *     supported, or the index names a shard or tensor that is not there
   */
  public static Checkpoint open(Path directory) {
    Objects.requireNonNull(directory, "directory");
    if (!Files.isDirectory(directory)) {
      throw new CheckpointException(directory + ": not a model directory");
    }
    byte[] configBytes = readBytes(directory.resolve(CONFIG));
    HfModelConfig config = HfModelConfig.parse(configBytes, directory.resolve(CONFIG).toString());
    List<SafetensorsFile> files = new ArrayList<>();
    try {
      Map<String, SafetensorsFile> fileOf = new TreeMap<>();
      Path index = directory.resolve(INDEX);
      if (Files.exists(index)) {
        openShards(directory, index, files, fileOf);
      } else {
        Path single = directory.resolve(SINGLE_FILE);
        if (!Files.exists(single)) {
          throw new CheckpointException(
              directory + ": neither " + SINGLE_FILE + " nor " + INDEX + " is there");
        }
        SafetensorsFile file = SafetensorsFile.open(single);
        files.add(file);
        file.tensors().keySet().forEach(name -> fileOf.put(name, file));
      }
      return new Checkpoint(directory, config, files, fileOf, configBytes);
    } catch (RuntimeException e) {
      files.forEach(SafetensorsFile::close);
      throw e;
    }
  }

  private static void openShards(
      Path directory,
      Path index,
      List<SafetensorsFile> files,
      Map<String, SafetensorsFile> fileOf) {
    JsonNode weightMap;
    try {
      JsonNode root = JSON.readTree(readBytes(index));
      weightMap = root == null ? null : root.get("weight_map");
    } catch (IOException e) {
      throw new CheckpointException(index + ": not JSON (" + e.getMessage() + ")", e);
    }
    if (weightMap == null || !weightMap.isObject()) {
      throw new CheckpointException(index + ": no weight_map object");
    }
    Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
      String name = entry.getKey();
      JsonNode shardNode = entry.getValue();
      if (!shardNode.isTextual()) {
        throw new CheckpointException(
            index + ": weight_map entry of '" + name + "' is not a file name");
      }
      String shardName = shardNode.asText();
      if (shardName.isEmpty()
          || shardName.equals(".")
          || shardName.equals("..")
          || shardName.contains("/")
          || shardName.contains("\\")) {
        throw new CheckpointException(
            index + ": shard '" + shardName + "' of '" + name + "' is not a file of " + directory);
      }
      SafetensorsFile shard =
          shards.computeIfAbsent(
              shardName,
              n -> {
                SafetensorsFile opened = SafetensorsFile.open(directory.resolve(n));
                files.add(opened);
                return opened;
              });
      if (shard.tensor(name) == null) {
        throw new CheckpointException(
            index + ": weight_map puts '" + name + "' in " + shardName + ", whose header lacks it");
      }
      fileOf.put(name, shard);
    }
  }

  private static byte[] readBytes(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file + ": no such file");
    } catch (IOException e) {
      throw new CheckpointException(file + ": cannot read (" + e.getMessage() + ")", e);
    }
  }

  /**
   * SHA-256 of config.json's bytes and of the tensor index: per tensor, sorted by name, its name,
   * dtype, shape, file and byte range. Two directories with the same digest hold the same model
   * layout; ranks compare it at handshake.
   */
  private static String digest(byte[] configBytes, Map<String, SafetensorsFile> fileOf) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
    sha.update("moeflux-checkpoint-v1\n".getBytes(StandardCharsets.US_ASCII));
    sha.update(configBytes);
    sha.update((byte) '\n');
    for (Map.Entry<String, SafetensorsFile> entry : fileOf.entrySet()) {
      TensorInfo info = Objects.requireNonNull(entry.getValue().tensor(entry.getKey()));
      String line =
          info.name()
              + '\t'
              + info.dtype()
              + '\t'
              + info.shapeText()
              + '\t'
              + entry.getValue().path().getFileName()
              + '\t'
              + info.begin()
              + '\t'
              + info.end()
              + '\n';
      sha.update(line.getBytes(StandardCharsets.UTF_8));
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  public Path directory() {
    return directory;
  }

  public HfModelConfig config() {
    return config;
  }

  public ModelFamily family() {
    return config.family();
  }

  /** The decoder-layer indices of the MoE layers, ascending. */
  public int[] moeLayers() {
    return config.moeLayers();
  }

  /**
   * The position of decoder layer {@code layer} among the MoE layers.
   *
   * @throws CheckpointException when the layer is out of range or dense, naming it
   */
  public int moeIndex(int layer) {
    return config.moeIndex(layer);
  }

  /** Every tensor of the checkpoint by name (sorted), over all shards. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** The tensor named {@code name}, or null. */
  public @Nullable TensorInfo tensor(String name) {
    return tensors.get(name);
  }

  /** The SHA-256 (hex) of config.json and the tensor index; equal digests, equal layouts. */
  public String digest() {
    return digest;
  }

  /** Bytes of every file the checkpoint maps (shards or the single file). */
  public long fileBytes() {
    long total = 0;
    for (SafetensorsFile file : files) {
      try {
        total += Files.size(file.path());
      } catch (IOException e) {
        throw new CheckpointException(file.path() + ": cannot read its size", e);
      }
    }
    return total;
  }

  /**
   * The tensor named {@code name} in its stored precision: BF16, F16 or F32 as stored; a
   * deepseek_v3 F8_E4M3 weight dequantized to BF16 with its {@code <name>_scale_inv}.
   *
   * @throws CheckpointException when the tensor is missing or its dtype is not one of those
   */
  public StoredTensor readStored(String name) {
    SafetensorsFile file = fileFor(name);
    TensorInfo info = Objects.requireNonNull(file.tensor(name));
    if (TensorDtype.F8_E4M3.name().equals(info.dtype())) {
      return dequantize(file, info);
    }
    if (!isLoadable(info.dtype())) {
      throw new CheckpointException(
          directory
              + ": tensor '"
              + name
              + "' has dtype "
              + info.dtype()
              + ", which moeflux cannot load (BF16, F16, F32"
              + (family() == ModelFamily.DEEPSEEK_V3 ? ", F8_E4M3 with weight_scale_inv" : "")
              + ")");
    }
    return file.readStored(name);
  }

  private static boolean isLoadable(String dtype) {
    TensorDtype known = TensorDtype.parse(dtype);
    return known != null && (known == TensorDtype.F32 || known.isHalf());
  }

  /** The tensor named {@code name} widened to float32 (see {@link #readStored}). */
  public float[] readFloats(String name) {
    StoredTensor stored = readStored(name);
    float[] floats = stored.floats();
    return floats != null ? floats : stored.toFloats();
  }

  private SafetensorsFile fileFor(String name) {
    SafetensorsFile file = fileOf.get(name);
    if (file == null) {
      throw new CheckpointException(directory + ": no tensor named '" + name + "'");
    }
    return file;
  }

  /**
   * bf16(e4m3(w[i][j]) × scale_inv[i / blockRows][j / blockCols]), the product in float32, as
   * DeepSeek's own dequantization computes it before storing bf16.
   */
  private StoredTensor dequantize(SafetensorsFile file, TensorInfo info) {
    if (family() != ModelFamily.DEEPSEEK_V3) {
      throw new CheckpointException(
          directory
              + ": tensor '"
              + info.name()
              + "' has dtype F8_E4M3, loaded only for deepseek_v3 checkpoints (this is "
              + family().modelType()
              + ")");
    }
    if (info.rank() != 2) {
      throw new CheckpointException(
          directory
              + ": F8_E4M3 tensor '"
              + info.name()
              + "' is "
              + info.shapeText()
              + ", not 2-D");
    }
    String scaleName = info.name() + "_scale_inv";
    if (!fileOf.containsKey(scaleName)) {
      throw new CheckpointException(
          directory
              + ": F8_E4M3 tensor '"
              + info.name()
              + "' has no block scales '"
              + scaleName
              + "'");
    }
    int rows = (int) info.dim(0);
    int cols = (int) info.dim(1);
    int[] block = config.fp8Block();
    int blockRows = (rows + block[0] - 1) / block[0];
    int blockCols = (cols + block[1] - 1) / block[1];
    TensorInfo scaleInfo = Objects.requireNonNull(tensor(scaleName));
    if (!Arrays.equals(scaleInfo.shape(), new long[] {blockRows, blockCols})) {
      throw new CheckpointException(
          directory
              + ": block scales '"
              + scaleName
              + "' are "
              + scaleInfo.shapeText()
              + ", expected ["
              + blockRows
              + ", "
              + blockCols
              + "] for "
              + info.shapeText()
              + " in blocks of "
              + block[0]
              + "x"
              + block[1]);
    }
    float[] scales = readFloats(scaleName);
    byte[] codes = file.readE4m3(info.name());
    short[] bits = new short[codes.length];
    for (int i = 0; i < rows; i++) {
      int scaleRow = (i / block[0]) * blockCols;
      for (int j = 0; j < cols; j++) {
        float w = NarrowFloats.e4m3ToFloat(codes[i * cols + j]) * scales[scaleRow + j / block[1]];
        bits[i * cols + j] = NarrowFloats.floatToBf16(w);
      }
    }
    return StoredTensor.ofHalves(TensorDtype.BF16, info.shape(), bits);
  }

  /** Routed expert {@code expert} of MoE layer {@code layer}, its shapes checked. */
  public ExpertTensors expert(int layer, int expert) {
    moeIndex(layer);
    Objects.checkIndex(expert, config.experts());
    int h = config.hidden();
    int i = config.expertIntermediate();
    ModelFamily f = family();
    return new ExpertTensors(
        matrix(f.expertWeight(layer, expert, Projection.GATE), i, h),
        matrix(f.expertWeight(layer, expert, Projection.UP), i, h),
        matrix(f.expertWeight(layer, expert, Projection.DOWN), h, i));
  }

  /** The shared expert of MoE layer {@code layer}, or null when the family has none. */
  public @Nullable ExpertTensors sharedExpert(int layer) {
    moeIndex(layer);
    if (!config.hasSharedExpert()) {
      return null;
    }
    int h = config.hidden();
    int i = config.sharedIntermediate();
    ModelFamily f = family();
    return new ExpertTensors(
        matrix(Objects.requireNonNull(f.sharedWeight(layer, Projection.GATE)), i, h),
        matrix(Objects.requireNonNull(f.sharedWeight(layer, Projection.UP)), i, h),
        matrix(Objects.requireNonNull(f.sharedWeight(layer, Projection.DOWN)), h, i));
  }

  /** The router of MoE layer {@code layer}, {@code [experts, hidden]} row-major, widened. */
  public float[] routerWeight(int layer) {
    moeIndex(layer);
    String name = family().routerWeight(layer);
    checkShape(name, config.experts(), config.hidden());
    return readFloats(name);
  }

  /** deepseek_v3's selection bias of MoE layer {@code layer}, widened; null for the others. */
  public float @Nullable [] correctionBias(int layer) {
    moeIndex(layer);
    String name = family().correctionBias(layer);
    if (name == null) {
      return null;
    }
    checkShape(name, config.experts());
    return readFloats(name);
  }

  /** qwen2_moe's shared-expert gate of MoE layer {@code layer}, {@code [hidden]}; else null. */
  public float @Nullable [] sharedExpertGate(int layer) {
    moeIndex(layer);
    String name = family().sharedGate(layer);
    if (name == null || !config.hasSharedExpert()) {
      return null;
    }
    checkShape(name, 1, config.hidden());
    return readFloats(name);
  }

  private StoredTensor matrix(String name, int rows, int cols) {
    checkShape(name, rows, cols);
    return readStored(name);
  }

  private void checkShape(String name, long... expected) {
    TensorInfo info = tensor(name);
    if (info == null) {
      throw new CheckpointException(directory + ": no tensor named '" + name + "'");
    }
    if (!Arrays.equals(info.shape(), expected)) {
      throw new CheckpointException(
          directory
              + ": tensor '"
              + name
              + "' is "
              + info.shapeText()
              + ", expected "
              + Arrays.toString(expected)
              + " from config.json");
    }
  }

  @Override
  public void close() {
    files.forEach(SafetensorsFile::close);
  }

  @Override
  public String toString() {
    return "Checkpoint{" + directory + ", " + config + ", " + files.size() + " file(s)}";
  }
}
