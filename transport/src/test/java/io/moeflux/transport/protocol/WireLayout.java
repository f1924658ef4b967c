package io.moeflux.transport.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A codec's {@code LAYOUT} text read as what it claims to be, so that encoded bytes can be checked
 * against it field by field. The grammar is the one the README shows:
 *
 * <pre>
 * title line naming the byte order: "big-endian" or "little-endian" (or neither: no numbers)
 * [offset] [repeat] type name [what it is]
 * [offset] repeat × (type name, [repeat] type name, ...)
 * </pre>
 *
 * where {@code type} is int8, int16, int32, int64, float32, utf8 (one byte each, read as one
 * string) or wire (a hidden value in the precision named by {@code wire}, read as its float value
 * before any fp8 scale), {@code repeat} is a product like {@code count × topK} of numbers and
 * names, and {@code offset}, where given, is where the field must start. A name is bound to its
 * value when a single int field of that name is read (so {@code tokens} read from the bytes sizes
 * the fields after it); other names come from the caller (the header's {@code count}, the model's
 * {@code topK} and {@code hidden}).
 */
final class WireLayout {
  enum Type {
    INT8(1),
    INT16(2),
    INT32(4),
    INT64(8),
    FLOAT32(4),
    UTF8(1),
    /** A hidden value in the precision the name {@code wire} gives (a WirePrecision ordinal). */
    WIRE(0);

    final int bytes;

    Type(int bytes) {
      this.bytes = bytes;
    }

    static @Nullable Type named(String token) {
      for (Type type : values()) {
        if (type.name().toLowerCase().equals(token)) {
          return type;
        }
      }
      return null;
    }
  }

  /** One field: where it must start (if the layout says), how many, what type, its name. */
  record Field(@Nullable Integer offset, List<String> repeat, Type type, String name) {}

  /** Fields repeated together ({@code entries × (...)}). */
  record Group(@Nullable Integer offset, List<String> repeat, List<Field> fields) {}

  private final String title;
  private final @Nullable ByteOrder order;
  private final List<Object> parts;

  private WireLayout(String title, @Nullable ByteOrder order, List<Object> parts) {
    this.title = title;
    this.order = order;
    this.parts = parts;
  }

  static WireLayout parse(String text) {
    String[] lines = text.strip().split("\n");
    String title = lines[0];
    ByteOrder order =
        title.contains("big-endian")
            ? ByteOrder.BIG_ENDIAN
            : title.contains("little-endian") ? ByteOrder.LITTLE_ENDIAN : null;
    List<Object> parts = new ArrayList<>();
    for (int i = 1; i < lines.length; i++) {
      String line = lines[i].strip();
      int open = line.indexOf('(');
      if (open >= 0
          && names(line.substring(0, open)).stream().allMatch(t -> Type.named(t) == null)) {
        parts.add(group(line, open));
      } else {
        parts.add(field(line, true));
      }
    }
    return new WireLayout(title, order, parts);
  }

  String title() {
    return title;
  }

  /**
   * Reads {@code bytes} (reader index to writer index, without moving it) as this layout: every
   * field's values by name, in order (int32 as Integer, int64 as Long, float32 as Float, utf8 as
   * String).
   *
   * @throws AssertionError when a field does not start at its documented offset, a size names
   *     something unknown, or the fields do not cover the bytes exactly
   */
  Map<String, List<Object>> read(ByteBuf bytes, Map<String, Long> given) {
    Map<String, Long> names = new HashMap<>(given);
    Map<String, List<Object>> values = new LinkedHashMap<>();
    int[] at = {0};
    for (Object part : parts) {
      if (part instanceof Field field) {
        checkOffset(field.offset(), field.name(), at[0]);
        readField(field, bytes, names, values, at);
      } else {
        Group group = (Group) part;
        checkOffset(group.offset(), "the group " + group.fields(), at[0]);
        long times = size(group.repeat(), names);
        for (long t = 0; t < times; t++) {
          for (Field field : group.fields()) {
            readField(field, bytes, names, values, at);
          }
        }
      }
    }
    if (at[0] != bytes.readableBytes()) {
      throw new AssertionError(
          title
              + ": the layout covers "
              + at[0]
              + " bytes, the encoded bytes are "
              + bytes.readableBytes());
    }
    return values;
  }

  private void checkOffset(@Nullable Integer offset, String what, int at) {
    if (offset != null && offset != at) {
      throw new AssertionError(
          title + ": " + what + " is documented at offset " + offset + " but starts at " + at);
    }
  }

  private void readField(
      Field field,
      ByteBuf bytes,
      Map<String, Long> names,
      Map<String, List<Object>> values,
      int[] at) {
    long n = size(field.repeat(), names);
    WirePrecision wire =
        field.type() == Type.WIRE
            ? WirePrecision.of(size(List.of("wire"), names).intValue())
            : null;
    long valueBytes = wire != null ? wire.valueBytes() : field.type().bytes;
    long length = n * valueBytes;
    if (at[0] + length > bytes.readableBytes()) {
      throw new AssertionError(
          title
              + ": "
              + field.name()
              + " needs "
              + length
              + " bytes from offset "
              + at[0]
              + ", the encoded bytes end at "
              + bytes.readableBytes());
    }
    List<Object> out = values.computeIfAbsent(field.name(), name -> new ArrayList<>());
    int base = bytes.readerIndex();
    if (field.type() == Type.UTF8) {
      out.add(bytes.toString(base + at[0], (int) n, StandardCharsets.UTF_8));
      at[0] += (int) n;
      return;
    }
    if (order == null) {
      throw new AssertionError(title + ": numbers, but the title names no byte order");
    }
    for (long i = 0; i < n; i++) {
      int index = base + at[0];
      boolean little = order == ByteOrder.LITTLE_ENDIAN;
      Object value =
          switch (field.type()) {
            case INT8 -> (int) bytes.getByte(index);
            case INT16 -> (int) (little ? bytes.getShortLE(index) : bytes.getShort(index));
            case WIRE -> wireValue(wire, bytes, index);
            case INT32 -> little ? bytes.getIntLE(index) : bytes.getInt(index);
            case INT64 -> little ? bytes.getLongLE(index) : bytes.getLong(index);
            case FLOAT32 -> little ? bytes.getFloatLE(index) : bytes.getFloat(index);
            case UTF8 -> throw new IllegalStateException("utf8 is read as one string");
          };
      out.add(value);
      at[0] += (int) valueBytes;
    }
    if (n == 1
        && value(out) instanceof Number number
        && field.type() != Type.FLOAT32
        && field.type() != Type.WIRE) {
      names.put(field.name(), number.longValue());
    }
  }

  private static Float wireValue(@Nullable WirePrecision wire, ByteBuf bytes, int index) {
    if (wire == null) {
      throw new IllegalStateException("a wire value without a precision");
    }
    return switch (wire) {
      case F32 -> bytes.getFloatLE(index);
      case BF16 -> Bf16.widen(bytes.getShortLE(index));
      case FP8 -> E4m3.value(bytes.getByte(index));
    };
  }

  private static Object value(List<Object> values) {
    return values.get(values.size() - 1);
  }

  private Long size(List<String> repeat, Map<String, Long> names) {
    long n = 1;
    for (String factor : repeat) {
      if (factor.chars().allMatch(Character::isDigit)) {
        n *= Long.parseLong(factor);
      } else if (names.containsKey(factor)) {
        n *= names.get(factor);
      } else {
        throw new AssertionError(
            title + ": a size names '" + factor + "', which nothing before it gives");
      }
    }
    return n;
  }

  private static Field field(String text, boolean offsetAllowed) {
    String[] tokens = text.strip().split("\\s+");
    int i = 0;
    Integer offset = null;
    if (offsetAllowed && isNumber(tokens[0]) && tokens.length > 1 && !tokens[1].equals("×")) {
      offset = Integer.parseInt(tokens[0]);
      i = 1;
    }
    List<String> repeat = new ArrayList<>();
    for (; i < tokens.length && Type.named(tokens[i]) == null; i++) {
      if (!tokens[i].equals("×")) {
        repeat.add(tokens[i]);
      }
    }
    if (i + 1 >= tokens.length) {
      throw new AssertionError("not a field (no type and name): '" + text + "'");
    }
    return new Field(offset, repeat, Type.named(tokens[i]), tokens[i + 1]);
  }

  private static Group group(String line, int open) {
    int close = line.indexOf(')', open);
    if (close < 0) {
      throw new AssertionError("a group without ')': '" + line + "'");
    }
    String[] prefix = line.substring(0, open).strip().split("\\s+");
    Integer offset = null;
    List<String> repeat = new ArrayList<>();
    for (int i = 0; i < prefix.length; i++) {
      if (i == 0 && isNumber(prefix[i]) && prefix.length > 1 && !prefix[1].equals("×")) {
        offset = Integer.parseInt(prefix[i]);
      } else if (!prefix[i].equals("×")) {
        repeat.add(prefix[i]);
      }
    }
    List<Field> fields = new ArrayList<>();
    for (String item : line.substring(open + 1, close).split(",")) {
      fields.add(field(item, false));
    }
    return new Group(offset, repeat, fields);
  }

  private static List<String> names(String text) {
    return List.of(text.strip().split("\\s+"));
  }

  private static boolean isNumber(String token) {
    return !token.isEmpty() && token.chars().allMatch(Character::isDigit);
  }
}
