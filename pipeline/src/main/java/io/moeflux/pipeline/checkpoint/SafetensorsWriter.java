package io.moeflux.pipeline.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes one safetensors file: tensors in the order they were added, each aligned to 8 bytes by the
 * header's padding, data little-endian. Values are produced element by element while writing
 * ({@link Values}), so a file of many GiB is written through a small buffer.
 *
 * <pre>
 * SafetensorsWriter.create()
 *     .add("hidden_states", TensorDtype.F32, new long[] {tokens, hidden}, data)
 *     .addInts("topk_ids", new long[] {tokens, k}, ids)
 *     .write(path);
 * </pre>
 */
public final class SafetensorsWriter {
  /** The value of element {@code index} (row-major) of a tensor being written. */
  @FunctionalInterface
  public interface Values {
    float at(long index);
  }

  private static final int CHUNK_BYTES = 1 << 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Puts element {@code index} of one tensor into the buffer, encoded. */
  private interface Encoder {
    void put(ByteBuffer buffer, long index);
  }

  private record Entry(
      String name, TensorDtype dtype, long[] shape, long elements, Encoder encoder) {}

  private final List<Entry> entries = new ArrayList<>();
  private final Set<String> names = new HashSet<>();
  private final Map<String, String> metadata = new LinkedHashMap<>();

  private SafetensorsWriter() {}

  public static SafetensorsWriter create() {
    return new SafetensorsWriter();
  }

  /** Adds a {@code __metadata__} entry (for example {@code format: pt}). */
  public SafetensorsWriter metadata(String key, String value) {
    metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
    return this;
  }

  /**
   * Adds a tensor whose values are rounded to {@code dtype} (F32, BF16, F16 or F8_E4M3) when
   * written.
   */
  public SafetensorsWriter add(String name, TensorDtype dtype, long[] shape, float[] values) {
    Objects.requireNonNull(values, "values");
    long elements = elements(name, shape);
    if (elements != values.length) {
      throw new IllegalArgumentException(
          "tensor '"
              + name
              + "' of shape "
              + Arrays.toString(shape)
              + " needs "
              + elements
              + " values, got "
              + values.length);
    }
    return add(name, dtype, shape, index -> values[(int) index]);
  }

  /** Adds a tensor whose element values come from {@code values}, rounded to {@code dtype}. */
  public SafetensorsWriter add(String name, TensorDtype dtype, long[] shape, Values values) {
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(values, "values");
    if (!(dtype == TensorDtype.F32 || dtype.isHalf() || dtype == TensorDtype.F8_E4M3)) {
      throw new IllegalArgumentException(
          "float tensors are written as F32, BF16, F16 or F8_E4M3, not " + dtype);
    }
    return put(name, dtype, shape, (buffer, index) -> encode(buffer, dtype, values.at(index)));
  }

  /** Adds an I32 tensor. */
  public SafetensorsWriter addInts(String name, long[] shape, int[] values) {
    Objects.requireNonNull(values, "values");
    long elements = elements(name, shape);
    if (elements != values.length) {
      throw new IllegalArgumentException(
          "tensor '" + name + "' needs " + elements + " values, got " + values.length);
    }
    return put(name, TensorDtype.I32, shape, (buffer, index) -> buffer.putInt(values[(int) index]));
  }

  private SafetensorsWriter put(String name, TensorDtype dtype, long[] shape, Encoder encoder) {
    long elements = elements(name, shape);
    if (!names.add(name)) {
      throw new IllegalArgumentException("tensor '" + name + "' is already added");
    }
    entries.add(new Entry(name, dtype, shape.clone(), elements, encoder));
    return this;
  }

  private static long elements(String name, long[] shape) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(shape, "shape");
    if (name.isEmpty() || name.equals("__metadata__")) {
      throw new IllegalArgumentException("'" + name + "' cannot name a tensor");
    }
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException(
            "tensor '" + name + "' has a negative dimension: " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  /**
   * Writes the file, replacing any file at {@code file}; returns its size in bytes.
   *
   * @throws IOException when the file cannot be written
   */
  public long write(Path file) throws IOException {
    byte[] header = header();
    try (FileChannel out =
        FileChannel.open(
            file,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
      buffer.putLong(header.length);
      drain(out, buffer);
      out.write(ByteBuffer.wrap(header));
      for (Entry entry : entries) {
        for (long i = 0; i < entry.elements(); i++) {
          if (buffer.remaining() < 8) {
            drain(out, buffer);
          }
          entry.encoder().put(buffer, i);
        }
      }
      drain(out, buffer);
      return out.size();
    }
  }

  private static void encode(ByteBuffer buffer, TensorDtype dtype, float value) {
    switch (dtype) {
      case F32:
        buffer.putFloat(value);
        break;
      case BF16:
        buffer.putShort(NarrowFloats.floatToBf16(value));
        break;
      case F16:
        buffer.putShort(NarrowFloats.floatToF16(value));
        break;
      case F8_E4M3:
        buffer.put(NarrowFloats.floatToE4m3(value));
        break;
      default:
        throw new IllegalStateException("no encoding for " + dtype);
    }
  }

  private static void drain(FileChannel out, ByteBuffer buffer) throws IOException {
    buffer.flip();
    while (buffer.hasRemaining()) {
      out.write(buffer);
    }
    buffer.clear();
  }

  /** The JSON header, padded with spaces so that the data starts 8-byte aligned. */
  private byte[] header() throws IOException {
    ObjectNode root = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = root.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Entry entry : entries) {
      ObjectNode node = root.putObject(entry.name());
      node.put("dtype", entry.dtype().name());
      ArrayNode shape = node.putArray("shape");
      for (long d : entry.shape()) {
        shape.add(d);
      }
      long end = offset + entry.elements() * entry.dtype().bytes();
      node.putArray("data_offsets").add(offset).add(end);
      offset = end;
    }
    byte[] json = JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 8 + 7) / 8 * 8 - 8;
    byte[] header = Arrays.copyOf(json, padded);
    Arrays.fill(header, json.length, padded, (byte) ' ');
    return header;
  }
}
