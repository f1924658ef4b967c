package io.moeflux.pipeline.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One safetensors file: an 8-byte little-endian header length, a JSON header {@code {name: {dtype,
 * shape, data_offsets: [begin, end]}, "__metadata__": {...}}}, then the tensors' raw little-endian
 * bytes. Opening reads and checks the header only (offsets within the file, no two tensors
 * overlapping, each range exactly as long as its shape and dtype say). A tensor is read by mapping
 * its own region, copying it into a heap array and unmapping it at once, so files over 2 GiB work
 * and a reader's resident memory grows with what it keeps, not with the file.
 *
 * <p>Thread-safe: reads only map, and {@link FileChannel#map} may be called concurrently.
 */
public final class SafetensorsFile implements AutoCloseable {
  /** A larger header is refused before it is read: real ones are a few MiB at most. */
  public static final long MAX_HEADER_BYTES = 100L << 20;

  /** The largest region one array can hold. */
  private static final long MAX_REGION_BYTES = Integer.MAX_VALUE - 8;

  /** Refuses a header that names one tensor twice rather than keeping either silently. */
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private final Path path;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafetensorsFile(
      Path path,
      FileChannel channel,
      long dataStart,
      Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.path = path;
    this.channel = channel;
    this.dataStart = dataStart;
    this.tensors = Collections.unmodifiableMap(tensors);
    this.metadata = Collections.unmodifiableMap(metadata);
  }

  /**
   * Opens {@code file} and checks its header.
   *
   * @throws CheckpointException when the file is missing, unreadable or malformed, naming it
   */
  public static SafetensorsFile open(Path file) {
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.READ);
    } catch (NoSuchFileException e) {
      throw new CheckpointException(file + ": no such file");
    } catch (IOException e) {
      throw new CheckpointException(file + ": cannot open (" + e.getMessage() + ")", e);
    }
    try {
      return read(file, channel);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    }
  }

  private static SafetensorsFile read(Path file, FileChannel channel) {
    try {
      long size = channel.size();
      if (size < 8) {
        throw malformed(file, "the file has " + size + " bytes, fewer than the 8-byte length");
      }
      ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(channel, lengthBytes, 0);
      long headerLength = lengthBytes.getLong(0);
      if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
        throw malformed(
            file,
            "header length "
                + Long.toUnsignedString(headerLength)
                + " is not in 2.."
                + MAX_HEADER_BYTES);
      }
      if (headerLength > size - 8) {
        throw malformed(
            file,
            "header length " + headerLength + " runs past the end of the file (" + size + ")");
      }
      ByteBuffer header = ByteBuffer.allocate((int) headerLength);
      readFully(channel, header, 8);
      long dataStart = 8 + headerLength;
      Map<String, String> metadata = new LinkedHashMap<>();
      Map<String, TensorInfo> tensors =
          parseHeader(file, header.array(), size - dataStart, metadata);
      return new SafetensorsFile(file, channel, dataStart, tensors, metadata);
    } catch (IOException e) {
      throw new CheckpointException(file + ": cannot read (" + e.getMessage() + ")", e);
    }
  }

  private static void readFully(FileChannel channel, ByteBuffer into, long position)
      throws IOException {
    long at = position;
    while (into.hasRemaining()) {
      int n = channel.read(into, at);
      if (n < 0) {
        throw new IOException("unexpected end of file at byte " + at);
      }
      at += n;
    }
  }

  private static Map<String, TensorInfo> parseHeader(
      Path file, byte[] header, long dataLength, Map<String, String> metadata) {
    JsonNode root;
    try {
      root = JSON.readTree(new String(header, StandardCharsets.UTF_8).trim());
    } catch (IOException e) {
      throw malformed(file, "the header is not JSON (" + firstLine(e.getMessage()) + ")");
    }
    if (root == null || !root.isObject()) {
      throw malformed(file, "the header is not a JSON object");
    }
    List<TensorInfo> infos = new ArrayList<>();
    for (Map.Entry<String, JsonNode> field : root.properties()) {
      String name = field.getKey();
      JsonNode entry = field.getValue();
      if (name.equals("__metadata__")) {
        readMetadata(file, entry, metadata);
        continue;
      }
      infos.add(tensorInfo(file, name, entry, dataLength));
    }
    checkNoOverlap(file, infos);
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (TensorInfo info : infos) {
      tensors.put(info.name(), info);
    }
    return tensors;
  }

  private static void readMetadata(Path file, JsonNode entry, Map<String, String> metadata) {
    if (!entry.isObject()) {
      throw malformed(file, "__metadata__ is not an object");
    }
    for (Map.Entry<String, JsonNode> m : entry.properties()) {
      if (!m.getValue().isTextual()) {
        throw malformed(file, "__metadata__ value of '" + m.getKey() + "' is not a string");
      }
      metadata.put(m.getKey(), m.getValue().asText());
    }
  }

  private static TensorInfo tensorInfo(Path file, String name, JsonNode entry, long dataLength) {
    String where = "tensor '" + name + "'";
    if (!entry.isObject()) {
      throw malformed(file, where + " is not an object");
    }
    JsonNode dtypeNode = entry.get("dtype");
    JsonNode shapeNode = entry.get("shape");
    JsonNode offsetsNode = entry.get("data_offsets");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw malformed(file, where + " has no dtype string");
    }
    if (shapeNode == null || !shapeNode.isArray()) {
      throw malformed(file, where + " has no shape array");
    }
    if (offsetsNode == null
        || !offsetsNode.isArray()
        || offsetsNode.size() != 2
        || !offsetsNode.get(0).canConvertToLong()
        || !offsetsNode.get(1).canConvertToLong()) {
      throw malformed(file, where + " has no data_offsets [begin, end]");
    }
    long[] shape = new long[shapeNode.size()];
    for (int d = 0; d < shape.length; d++) {
      JsonNode dim = shapeNode.get(d);
      if (!dim.canConvertToLong() || !dim.isIntegralNumber() || dim.asLong() < 0) {
        throw malformed(file, where + " has shape " + shapeNode + " with a bad dimension");
      }
      shape[d] = dim.asLong();
    }
    long begin = offsetsNode.get(0).asLong();
    long end = offsetsNode.get(1).asLong();
    if (begin < 0 || end < begin || end > dataLength) {
      throw malformed(
          file,
          where
              + " has data_offsets ["
              + begin
              + ", "
              + end
              + "] outside the "
              + dataLength
              + " data bytes");
    }
    String dtype = dtypeNode.asText();
    TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
    TensorDtype known = TensorDtype.parse(dtype);
    if (known != null) {
      long expected;
      try {
        expected = Math.multiplyExact(info.elements(), known.bytes());
      } catch (ArithmeticException e) {
        throw malformed(file, where + " has shape " + info.shapeText() + ", too large");
      }
      if (info.length() != expected) {
        throw malformed(
            file,
            where
                + " is "
                + dtype
                + info.shapeText()
                + ", "
                + expected
                + " bytes, but its data_offsets span "
                + info.length());
      }
    }
    return info;
  }

  private static void checkNoOverlap(Path file, List<TensorInfo> infos) {
    List<TensorInfo> byBegin = new ArrayList<>(infos);
    byBegin.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    for (int i = 1; i < byBegin.size(); i++) {
      TensorInfo before = byBegin.get(i - 1);
      TensorInfo after = byBegin.get(i);
      if (after.begin() < before.end()) {
        throw malformed(
            file,
            "tensors '"
                + before.name()
                + "' and '"
                + after.name()
                + "' overlap (bytes "
                + after.begin()
                + ".."
                + before.end()
                + ")");
      }
    }
  }

  private static CheckpointException malformed(Path file, String what) {
    return new CheckpointException(file + ": not a safetensors file: " + what);
  }

  private static String firstLine(@Nullable String text) {
    if (text == null) {
      return "no detail";
    }
    int nl = text.indexOf('\n');
    return nl < 0 ? text : text.substring(0, nl);
  }

  public Path path() {
    return path;
  }

  /** Every tensor of the header, in header order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** The header's {@code __metadata__} (empty when it has none). */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** The tensor named {@code name}, or null. */
  public @Nullable TensorInfo tensor(String name) {
    return tensors.get(name);
  }

  /**
   * The tensor named {@code name} in its stored precision (BF16, F16 or F32).
   *
   * @throws CheckpointException when there is no such tensor or its dtype is another one
   */
  public StoredTensor readStored(String name) {
    TensorInfo info = require(name);
    TensorDtype dtype = TensorDtype.parse(info.dtype());
    if (dtype == null || !(dtype == TensorDtype.F32 || dtype.isHalf())) {
      throw unsupported(info, "BF16, F16 or F32");
    }
    int elements = arrayLength(info);
    return withRegion(
        info,
        region -> {
          if (dtype == TensorDtype.F32) {
            float[] values = new float[elements];
            region.asFloatBuffer().get(values);
            return StoredTensor.ofFloats(info.shape(), values);
          }
          short[] bits = new short[elements];
          region.asShortBuffer().get(bits);
          return StoredTensor.ofHalves(dtype, info.shape(), bits);
        });
  }

  /**
   * The tensor named {@code name} widened to float32 (BF16, F16 or F32 stored).
   *
   * @throws CheckpointException when there is no such tensor or its dtype is another one
   */
  public float[] readFloats(String name) {
    StoredTensor stored = readStored(name);
    float[] floats = stored.floats();
    return floats != null ? floats : stored.toFloats();
  }

  /**
   * The raw bytes of an F8_E4M3 tensor, one byte per element.
   *
   * @throws CheckpointException when there is no such tensor or its dtype is another one
   */
  public byte[] readE4m3(String name) {
    return readAs(
        name,
        TensorDtype.F8_E4M3,
        (region, elements) -> {
          byte[] bytes = new byte[elements];
          region.get(bytes);
          return bytes;
        });
  }

  /**
   * The I32 tensor named {@code name}.
   *
   * @throws CheckpointException when there is no such tensor or its dtype is another one
   */
  public int[] readInts(String name) {
    return readAs(
        name,
        TensorDtype.I32,
        (region, elements) -> {
          int[] values = new int[elements];
          region.asIntBuffer().get(values);
          return values;
        });
  }

  private interface ElementsReader<T> {
    T read(ByteBuffer region, int elements);
  }

  /**
   * The tensor named {@code name}, which must be stored as {@code dtype}, read by {@code reader}.
   */
  private <T> T readAs(String name, TensorDtype dtype, ElementsReader<T> reader) {
    TensorInfo info = require(name);
    if (!dtype.name().equals(info.dtype())) {
      throw unsupported(info, dtype.name());
    }
    int elements = arrayLength(info);
    return withRegion(info, region -> reader.read(region, elements));
  }

  private TensorInfo require(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new CheckpointException(path + ": no tensor named '" + name + "'");
    }
    return info;
  }

  private CheckpointException unsupported(TensorInfo info, String supported) {
    return new CheckpointException(
        path
            + ": tensor '"
            + info.name()
            + "' has dtype "
            + info.dtype()
            + ", which cannot be loaded here (supported: "
            + supported
            + ")");
  }

  private int arrayLength(TensorInfo info) {
    if (info.length() > MAX_REGION_BYTES) {
      throw new CheckpointException(
          path
              + ": tensor '"
              + info.name()
              + "' holds "
              + info.length()
              + " bytes, more than one array can hold");
    }
    return (int) info.elements();
  }

  private interface RegionReader<T> {
    T read(ByteBuffer region);
  }

  /** Maps the tensor's bytes, hands them to {@code reader} little-endian, unmaps them. */
  private <T> T withRegion(TensorInfo info, RegionReader<T> reader) {
    if (info.length() == 0) {
      return reader.read(ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN));
    }
    MappedByteBuffer region;
    try {
      region = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.length());
    } catch (IOException e) {
      throw new CheckpointException(
          path + ": cannot map tensor '" + info.name() + "' (" + e.getMessage() + ")", e);
    }
    try {
      region.order(ByteOrder.LITTLE_ENDIAN);
      return reader.read(region);
    } finally {
      MappedRegions.release(region);
    }
  }

  @Override
  public void close() {
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel channel) {
    try {
      channel.close();
    } catch (IOException e) {
      // Read-only: nothing was written that closing could lose.
    }
  }

  @Override
  public String toString() {
    return "SafetensorsFile{" + path + ", " + tensors.size() + " tensors}";
  }
}
