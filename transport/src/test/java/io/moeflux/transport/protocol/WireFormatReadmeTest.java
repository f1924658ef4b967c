package io.moeflux.transport.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.moeflux.transport.MeshFingerprint;
import io.moeflux.transport.testkit.NoLeaks;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The README's "Wire format" section and the codecs of this package must say the same thing. Every
 * codec's layout constant stands in the section verbatim as a block of its own (and the section has
 * no other plain block; diagrams are fenced as {@code text}); the frame-kind and lane tables and
 * the protocol version are the code's; and a frame each codec encodes, read through its layout
 * text, has every documented field at its documented offset with the value that was encoded, and
 * nothing after the last field.
 */
@ExtendWith(NoLeaks.class)
class WireFormatReadmeTest {
  private static final String SECTION = "## Wire format";
  private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;
  private static final WireLayout HEADER = WireLayout.parse(FrameHeaderCodec.LAYOUT);

  private final String section = readmeSection();

  @Test
  void everyCodecLayoutIsABlockOfTheSectionAndEveryBlockIsACodecLayout() {
    Map<String, String> layouts = codecLayouts();
    assertThat(layouts.keySet())
        .as("codec layouts")
        .contains(
            "FrameHeaderCodec.LAYOUT",
            "DispatchFrameCodec.LAYOUT",
            "ForwardWireCodec.REQUEST_LAYOUT",
            "ForwardWireCodec.RESPONSE_LAYOUT",
            "ForwardWireCodec.LAYER_REQUEST_LAYOUT",
            "ForwardWireCodec.LAYER_RESPONSE_LAYOUT",
            "ForwardWireCodec.REFUSAL_LAYOUT");
    List<String> blocks = blocks(section);
    layouts.forEach(
        (name, layout) ->
            assertThat(blocks).as("the README block for " + name).contains(layout.strip()));
    assertThat(layouts.values().stream().map(String::strip).toList())
        .as("README blocks that are no codec's layout")
        .containsAll(blocks);
  }

  @Test
  void theFrameKindTableIsTheEnum() {
    List<List<String>> rows = table("| ordinal | kind | lane | carries | body codec |");
    assertThat(rows).hasSize(FrameKind.values().length);
    Map<String, String> layouts = codecLayouts();
    for (FrameKind kind : FrameKind.values()) {
      List<String> row = rows.get(kind.ordinal());
      assertThat(row.subList(0, 3))
          .as("README row of " + kind)
          .containsExactly(Integer.toString(kind.ordinal()), kind.name(), kind.lane().name());
      assertThat(layouts.keySet())
          .as("the body codec of " + kind + " in the README")
          .contains(row.get(4) + ".LAYOUT");
    }
  }

  @Test
  void theLaneTableIsTheEnum() {
    List<List<String>> rows = table("| ordinal | lane | what travels on it |");
    assertThat(rows.stream().map(row -> row.subList(0, 2)).toList())
        .isEqualTo(
            Arrays.stream(FrameKind.Lane.values())
                .map(lane -> List.of(Integer.toString(lane.ordinal()), lane.name()))
                .toList());
  }

  @Test
  void theVersionsAreTheCode() {
    assertThat(number("protocol version \\*\\*(\\d+)\\*\\* \\(`ProtocolVersion.CURRENT`\\)"))
        .isEqualTo(ProtocolVersion.CURRENT);
    assertThat(number("their own version \\*\\*(\\d+)\\*\\* \\(`ForwardWireCodec.VERSION`\\)"))
        .isEqualTo(ForwardWireCodec.VERSION);
    assertThat(number("version \\*\\*(\\d+)\\*\\* \\(`ForwardWireCodec.VERSION_2`\\)"))
        .isEqualTo(ForwardWireCodec.VERSION_2);
    assertThat(number("\\*\\*(\\d+)-byte header\\*\\*")).isEqualTo(FrameHeaderCodec.HEADER_BYTES);
  }

  @Test
  void theWirePrecisionTableIsTheEnum() {
    List<List<String>> rows =
        table("| ordinal | wire | bytes per value | scales per row | a value |");
    assertThat(rows.stream().map(row -> row.subList(0, 4)).toList())
        .isEqualTo(
            Arrays.stream(WirePrecision.values())
                .map(
                    wire ->
                        List.of(
                            Integer.toString(wire.ordinal()),
                            wire.label(),
                            Integer.toString(wire.valueBytes()),
                            Integer.toString(wire.scalesPerRow())))
                .toList());
  }

  @Test
  void aHeaderHasEveryFieldAtItsDocumentedOffset() {
    ByteBuf frame =
        FrameHeaderCodec.allocate(
            ALLOC, FrameKind.GATHER, WirePrecision.FP8, 258, 0x0102030405060708L, -7, 3, 5, 0);
    try {
      assertThat(HEADER.read(frame, Map.of()))
          .containsExactly(
              Map.entry("kind", List.of(FrameKind.GATHER.ordinal())),
              Map.entry("wire", List.of(WirePrecision.FP8.ordinal())),
              Map.entry("micro", List.of(258)),
              Map.entry("step", List.of(0x0102030405060708L)),
              Map.entry("layer", List.of(-7)),
              Map.entry("source", List.of(3)),
              Map.entry("count", List.of(5)));
      assertThat(frame.readableBytes()).isEqualTo(FrameHeaderCodec.HEADER_BYTES);
    } finally {
      frame.release();
    }
  }

  @Test
  void aDispatchBodyHasEveryFieldWhereTheReadmeSaysInEveryPrecision() {
    int count = 2;
    int topK = 3;
    int hidden = 4;
    for (WirePrecision wire : WirePrecision.values()) {
      ByteBuf frame = DispatchFrameCodec.allocate(ALLOC, 9, 1, 1, 2, count, topK, hidden, wire);
      List<Object> slots = new ArrayList<>();
      List<Object> weights = new ArrayList<>();
      for (int t = 0; t < count; t++) {
        for (int k = 0; k < topK; k++) {
          int slot = k == 1 ? -1 : 10 * t + k;
          float weight = 0.5f + t + k / 8f;
          DispatchFrameCodec.setPick(frame, count, t, k, topK, slot, weight);
          slots.add(slot);
          weights.add(weight);
        }
      }
      float[] rows = floats(count * hidden, 100);
      RowCoder coder = new RowCoder(wire, hidden);
      WireRows view = DispatchFrameCodec.rows(frame, count, topK, hidden, wire);
      for (int t = 0; t < count; t++) {
        coder.encode(rows, t * hidden, view, t);
      }
      DispatchFrameCodec.finish(frame, count, topK, hidden, wire);

      assertThat(bodyOf(frame, DispatchFrameCodec.class, Map.of("topK", 3L, "hidden", 4L)))
          .as(wire.label())
          .containsExactly(
              Map.entry("slot", slots),
              Map.entry("weight", weights),
              Map.entry("scale", scales(wire, rows, count, hidden)),
              Map.entry("hidden", onTheWire(wire, rows, count, hidden)));
    }
  }

  @Test
  void aCombineBodyHasEveryFieldWhereTheReadmeSaysInEveryPrecision() {
    float[] partials = floats(6, 1);
    for (WirePrecision wire : WirePrecision.values()) {
      ByteBuf frame = CombineFrameCodec.encode(ALLOC, 9, 1, 2, partials, 2, new RowCoder(wire, 3));
      assertThat(bodyOf(frame, CombineFrameCodec.class, Map.of("hidden", 3L)))
          .as(wire.label())
          .containsExactly(
              Map.entry("scale", scales(wire, partials, 2, 3)),
              Map.entry("partial", onTheWire(wire, partials, 2, 3)));
    }
  }

  @Test
  void aGatherBodyHasEveryFieldWhereTheReadmeSays() {
    float[] weights = {0.75f, 0.25f, 0.625f, 0.375f};
    float[] rows = floats(4, 1);
    RowCoder fp8 = new RowCoder(WirePrecision.FP8, 2);
    ByteBuf frame =
        GatherFrameCodec.encode(
            ALLOC, 9, 0, 1, 2, 3, 2, new int[] {5, 1, 7, 3}, weights, rows, fp8);
    List<Object> padded = new ArrayList<>(onTheWire(WirePrecision.FP8, rows, 2, 2));
    padded.addAll(List.of(0f, 0f));
    List<Object> paddedScales = new ArrayList<>(scales(WirePrecision.FP8, rows, 2, 2));
    paddedScales.add(0f);
    assertThat(
            bodyOf(frame, GatherFrameCodec.class, Map.of("topK", 2L, "hidden", 2L, "padded", 3L)))
        .containsExactly(
            Map.entry("expert", List.of(5, 1, 7, 3)),
            Map.entry("weight", boxed(weights)),
            Map.entry("scale", paddedScales),
            Map.entry("row", padded));
  }

  @Test
  void syncPlanAndHeatBodiesHaveEveryFieldWhereTheReadmeSays() {
    for (FrameKind kind : List.of(FrameKind.SYNC, FrameKind.PLAN, FrameKind.HEAT)) {
      ByteBuf frame = LongsFrameCodec.encode(ALLOC, kind, 12, 0, 1, new long[] {7, -1, 1L << 40});
      assertThat(bodyOf(frame, LongsFrameCodec.class, Map.of()))
          .as(kind.name())
          .containsExactly(Map.entry("value", List.of(7L, -1L, 1L << 40)));
    }
  }

  @Test
  void aMigrationBodyHasEveryFieldWhereTheReadmeSays() {
    float[] stream = floats(5, 3);
    ByteBuf frame = MigrationChunkCodec.encode(ALLOC, 4, 2, 1, stream, 1, 3);
    assertThat(bodyOf(frame, MigrationChunkCodec.class, Map.of()))
        .containsExactly(Map.entry("weight", boxed(Arrays.copyOfRange(stream, 1, 4))));
  }

  @Test
  void anAbortBodyHasEveryFieldWhereTheReadmeSays() {
    String reason = "rank 2: a prefill batch on a skipping rank (ß)";
    ByteBuf frame = AbortFrameCodec.encode(ALLOC, 6, 2, reason);
    assertThat(FrameHeaderCodec.count(frame))
        .isEqualTo(reason.getBytes(StandardCharsets.UTF_8).length);
    assertThat(bodyOf(frame, AbortFrameCodec.class, Map.of()))
        .containsExactly(Map.entry("reason", List.of(reason)));
  }

  @Test
  void aFailureBodyHasEveryFieldWhereTheReadmeSays() {
    String reason = "rank 0: peer rank 3 (10.77.0.4:7000) lost: keep-alive timed out";
    ByteBuf frame = FailureFrameCodec.encode(ALLOC, 0, reason);
    assertThat(bodyOf(frame, FailureFrameCodec.class, Map.of()))
        .containsExactly(Map.entry("reason", List.of(reason)));
  }

  @Test
  void aLaneOpenPayloadHasEveryFieldWhereTheReadmeSays() {
    ByteBuf payload = LaneOpenCodec.encode(ALLOC, 5, FrameKind.Lane.BULK);
    assertThat(read(payload, LaneOpenCodec.LAYOUT))
        .containsExactly(
            Map.entry("source", List.of(5)),
            Map.entry("lane", List.of(FrameKind.Lane.BULK.ordinal())));
  }

  @Test
  void aDeadlineEntryHasItsFieldWhereTheReadmeSays() {
    ByteBuf entry = ForwardDeadlineCodec.encode(ALLOC, Duration.ofMillis(1500));
    // decoding reads in place: the entry is still whole for the layout to read
    assertThat(ForwardDeadlineCodec.decode(entry)).isEqualTo(Duration.ofMillis(1500));
    assertThat(read(entry, ForwardDeadlineCodec.LAYOUT))
        .containsExactly(Map.entry("millis", List.of(1500L)));
  }

  @Test
  void aHandshakeHasEveryFieldWhereTheReadmeSays() {
    MeshFingerprint fingerprint =
        MeshFingerprint.builder().put("model", "3fa2c1d0").put("capacity", 64).build();
    ByteBuf bytes = HandshakeCodec.encode(ALLOC, Handshake.current(2, 4, fingerprint));
    assertThat(read(bytes, HandshakeCodec.LAYOUT))
        .containsExactly(
            Map.entry("version", List.of(ProtocolVersion.CURRENT)),
            Map.entry("rank", List.of(2)),
            Map.entry("world", List.of(4)),
            Map.entry("entries", List.of(2)),
            Map.entry("keyBytes", List.of(5, 8)),
            Map.entry("key", List.of("model", "capacity")),
            Map.entry("valueBytes", List.of(8, 2)),
            Map.entry("value", List.of("3fa2c1d0", "64")));
  }

  @Test
  void theHandshakeMessagesHaveEveryFieldWhereTheReadmeSays() {
    byte[] nonce = new byte[32];
    byte[] tag = new byte[32];
    byte[] proof = new byte[32];
    for (int i = 0; i < 32; i++) {
      nonce[i] = (byte) i;
      tag[i] = (byte) (64 + i);
      proof[i] = (byte) (128 + i);
    }
    MeshFingerprint fingerprint = MeshFingerprint.of("capacity", "8");
    assertThat(read(SetupCodec.encode(ALLOC, 3, nonce), SetupCodec.LAYOUT))
        .containsExactly(
            Map.entry("version", List.of(ProtocolVersion.CURRENT)),
            Map.entry("rank", List.of(3)),
            Map.entry("nonce", ints(nonce)));
    assertThat(read(ChallengeCodec.encodeRequest(ALLOC), ChallengeCodec.REQUEST_LAYOUT))
        .containsExactly(Map.entry("request", List.of(ChallengeCodec.REQUEST)));
    assertThat(
            read(
                ChallengeCodec.encodeAnswer(ALLOC, nonce, tag, proof),
                ChallengeCodec.ANSWER_LAYOUT))
        .containsExactly(
            Map.entry("nonce", ints(nonce)),
            Map.entry("tag", ints(tag)),
            Map.entry("proof", ints(proof)));
    assertThat(
            read(
                ProofCodec.encode(ALLOC, tag, proof, Handshake.current(1, 2, fingerprint)),
                ProofCodec.LAYOUT))
        .containsExactly(
            Map.entry("request", List.of(ProofCodec.REQUEST)),
            Map.entry("tag", ints(tag)),
            Map.entry("proof", ints(proof)),
            Map.entry("version", List.of(ProtocolVersion.CURRENT)),
            Map.entry("rank", List.of(1)),
            Map.entry("world", List.of(2)),
            Map.entry("entries", List.of(1)),
            Map.entry("keyBytes", List.of(8)),
            Map.entry("key", List.of("capacity")),
            Map.entry("valueBytes", List.of(1)),
            Map.entry("value", List.of("8")));
  }

  /** 32 bytes as the 8 big-endian int32 the layouts show them as. */
  private static List<Object> ints(byte[] bytes) {
    List<Object> ints = new ArrayList<>();
    java.nio.ByteBuffer buffer = java.nio.ByteBuffer.wrap(bytes);
    while (buffer.hasRemaining()) {
      ints.add(buffer.getInt());
    }
    return ints;
  }

  @Test
  void forwardBodiesHaveEveryFieldWhereTheReadmeSays() {
    float[] data = floats(6, 1);
    float[] weights = {0.75f, 0.25f, 0.5f, 0.5f};
    Map<String, List<Object>> request =
        read(
            ForwardWireCodec.encodeRequest(ALLOC, -1, 2, 3, data), ForwardWireCodec.REQUEST_LAYOUT);
    Map<String, List<Object>> response =
        read(
            ForwardWireCodec.encodeResponse(
                ALLOC,
                new ForwardWireCodec.Response(
                    1, 42L, 2, 3, 2, data, new int[] {4, 0, 2, 6}, weights)),
            ForwardWireCodec.RESPONSE_LAYOUT);
    assertThat(request)
        .containsExactly(
            Map.entry("version", List.of(ForwardWireCodec.VERSION)),
            Map.entry("rank", List.of(-1)),
            Map.entry("tokens", List.of(2)),
            Map.entry("hidden", List.of(3)),
            Map.entry("data", boxed(data)));
    assertThat(response)
        .containsExactly(
            Map.entry("version", List.of(ForwardWireCodec.VERSION)),
            Map.entry("rank", List.of(1)),
            Map.entry("step", List.of(42L)),
            Map.entry("tokens", List.of(2)),
            Map.entry("hidden", List.of(3)),
            Map.entry("topK", List.of(2)),
            Map.entry("data", boxed(data)),
            Map.entry("expert", List.of(4, 0, 2, 6)),
            Map.entry("weight", boxed(weights)));
  }

  /** Reads {@code bytes} through {@code layout}, then releases them. */
  @Test
  void forwardVersion2BodiesHaveEveryFieldWhereTheReadmeSays() {
    float[] data = floats(6, 2);
    float[] weights = {0.75f, 0.25f, 0.5f, 0.5f};
    assertThat(
            read(
                ForwardWireCodec.encodeLayerRequest(ALLOC, 1, 7, 2, 3, data),
                ForwardWireCodec.LAYER_REQUEST_LAYOUT))
        .containsExactly(
            Map.entry("version", List.of(ForwardWireCodec.VERSION_2)),
            Map.entry("rank", List.of(1)),
            Map.entry("layer", List.of(7)),
            Map.entry("tokens", List.of(2)),
            Map.entry("hidden", List.of(3)),
            Map.entry("data", boxed(data)));
    assertThat(
            read(
                ForwardWireCodec.encodeLayerResponse(
                    ALLOC,
                    ForwardWireCodec.LayerResponse.ran(
                        1, 7, 42L, 3L, 2, 3, 2, data, new int[] {4, 0, 2, 6}, weights)),
                ForwardWireCodec.LAYER_RESPONSE_LAYOUT))
        .containsExactly(
            Map.entry("version", List.of(ForwardWireCodec.VERSION_2)),
            Map.entry("status", List.of(ForwardWireCodec.STATUS_OK)),
            Map.entry("rank", List.of(1)),
            Map.entry("layer", List.of(7)),
            Map.entry("step", List.of(42L)),
            Map.entry("placement", List.of(3L)),
            Map.entry("tokens", List.of(2)),
            Map.entry("hidden", List.of(3)),
            Map.entry("topK", List.of(2)),
            Map.entry("data", boxed(data)),
            Map.entry("expert", List.of(4, 0, 2, 6)),
            Map.entry("weight", boxed(weights)));
    String why = "layer 1 is a dense layer (ß)";
    assertThat(
            read(
                ForwardWireCodec.encodeLayerResponse(
                    ALLOC, ForwardWireCodec.LayerResponse.refused(0, 1, why)),
                ForwardWireCodec.REFUSAL_LAYOUT))
        .containsExactly(
            Map.entry("version", List.of(ForwardWireCodec.VERSION_2)),
            Map.entry("status", List.of(ForwardWireCodec.STATUS_REFUSED)),
            Map.entry("rank", List.of(0)),
            Map.entry("layer", List.of(1)),
            Map.entry("step", List.of(-1L)),
            Map.entry("placement", List.of(-1L)),
            Map.entry("bytes", List.of(why.getBytes(StandardCharsets.UTF_8).length)),
            Map.entry("message", List.of(why)));
  }

  private static Map<String, List<Object>> read(ByteBuf bytes, String layout) {
    try {
      return WireLayout.parse(layout).read(bytes, Map.of());
    } finally {
      bytes.release();
    }
  }

  /** {@link #body}, then releases the frame. */
  private Map<String, List<Object>> bodyOf(ByteBuf frame, Class<?> codec, Map<String, Long> given) {
    try {
      return body(frame, codec, given);
    } finally {
      frame.release();
    }
  }

  /**
   * Reads a frame's header through the header layout, checks that the README's frame-kind table
   * names {@code codec} for the kind it carries, and reads the body through the codec's layout,
   * with the header's count and the model's sizes {@code given}.
   */
  private Map<String, List<Object>> body(ByteBuf frame, Class<?> codec, Map<String, Long> given) {
    Map<String, List<Object>> header =
        HEADER.read(frame.slice(frame.readerIndex(), FrameHeaderCodec.HEADER_BYTES), Map.of());
    int kind = (Integer) header.get("kind").get(0);
    List<String> row = table("| ordinal | kind | lane | carries | body codec |").get(kind);
    assertThat(row.get(4))
        .as("the README's body codec of kind " + kind)
        .isEqualTo(codec.getSimpleName());
    Map<String, Long> names = new LinkedHashMap<>(given);
    names.put("count", ((Integer) header.get("count").get(0)).longValue());
    int wire = (Integer) header.get("wire").get(0);
    names.put("wire", (long) wire);
    names.put("scales", (long) WirePrecision.of(wire).scalesPerRow());
    ByteBuf body =
        frame.slice(FrameHeaderCodec.bodyIndex(frame), FrameHeaderCodec.bodyLength(frame));
    return WireLayout.parse(layoutOf(codec, "LAYOUT")).read(body, names);
  }

  /** Every public String constant named LAYOUT or ..._LAYOUT of every class of this package. */
  private static Map<String, String> codecLayouts() {
    Map<String, String> layouts = new LinkedHashMap<>();
    for (Class<?> type : protocolClasses()) {
      List<Field> fields =
          Arrays.stream(type.getDeclaredFields())
              .filter(f -> f.getName().equals("LAYOUT") || f.getName().endsWith("_LAYOUT"))
              .toList();
      if (type.getSimpleName().endsWith("Codec")) {
        assertThat(fields).as(type.getSimpleName() + " documents its layout").isNotEmpty();
      }
      for (Field field : fields) {
        layouts.put(type.getSimpleName() + "." + field.getName(), layoutOf(type, field.getName()));
      }
    }
    return layouts;
  }

  private static String layoutOf(Class<?> type, String name) {
    try {
      Field field = type.getDeclaredField(name);
      assertThat(Modifier.isPublic(field.getModifiers()) && Modifier.isStatic(field.getModifiers()))
          .as(type.getSimpleName() + "." + name + " is a public constant")
          .isTrue();
      return (String) field.get(null);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(type.getSimpleName() + " has no " + name, e);
    }
  }

  /** The top-level classes of the protocol package, as compiled. */
  private static List<Class<?>> protocolClasses() {
    try {
      Path classes =
          Path.of(
                  FrameHeaderCodec.class
                      .getProtectionDomain()
                      .getCodeSource()
                      .getLocation()
                      .toURI())
              .resolve(FrameHeaderCodec.class.getPackageName().replace('.', '/'));
      try (Stream<Path> files = Files.list(classes)) {
        List<Class<?>> types = new ArrayList<>();
        for (Path file : files.sorted().toList()) {
          String name = file.getFileName().toString();
          if (name.endsWith(".class") && !name.contains("$") && !name.startsWith("package-info")) {
            types.add(
                Class.forName(
                    FrameHeaderCodec.class.getPackageName()
                        + "."
                        + name.substring(0, name.length() - ".class".length())));
          }
        }
        return types;
      }
    } catch (IOException | URISyntaxException | ClassNotFoundException e) {
      throw new AssertionError("cannot list the protocol classes", e);
    }
  }

  private static String readmeSection() {
    Path readme =
        Path.of(System.getProperty("basedir", System.getProperty("user.dir")))
            .resolve("../README.md");
    String text;
    try {
      text = Files.readString(readme);
    } catch (IOException e) {
      throw new AssertionError("cannot read " + readme.toAbsolutePath().normalize(), e);
    }
    int start = text.indexOf("\n" + SECTION + "\n");
    assertThat(start).as("README has a '" + SECTION + "' section").isNotNegative();
    int end = text.indexOf("\n## ", start + 1);
    return text.substring(start, end < 0 ? text.length() : end);
  }

  /**
   * The plainly fenced blocks of {@code text}, each without its fences and outer blank space; a
   * block fenced with a language ({@code text} for a diagram) is no layout.
   */
  private static List<String> blocks(String text) {
    List<String> blocks = new ArrayList<>();
    Matcher block = Pattern.compile("(?m)^```\\n(.*?)^```$", Pattern.DOTALL).matcher(text);
    while (block.find()) {
      blocks.add(block.group(1).strip());
    }
    return blocks;
  }

  /**
   * The rows of the section's table whose header row is {@code header}, cells without backticks.
   */
  private List<List<String>> table(String header) {
    List<String> lines = section.lines().toList();
    int at = lines.indexOf(header);
    assertThat(at).as("README table " + header).isNotNegative();
    List<List<String>> rows = new ArrayList<>();
    for (int i = at + 2; i < lines.size() && lines.get(i).startsWith("|"); i++) {
      String line = lines.get(i);
      rows.add(
          Arrays.stream(line.substring(1, line.length() - 1).split("\\|"))
              .map(cell -> cell.strip().replace("`", ""))
              .toList());
    }
    return rows;
  }

  /** The number {@code regex} captures in the section; a space in it matches any line break. */
  private int number(String regex) {
    Matcher matcher = Pattern.compile(regex.replace(" ", "\\s+")).matcher(section);
    assertThat(matcher.find()).as("README says /" + regex + "/").isTrue();
    return Integer.parseInt(matcher.group(1));
  }

  private static float[] floats(int n, int seed) {
    float[] values = new float[n];
    for (int i = 0; i < n; i++) {
      values[i] = seed + i * 0.25f;
    }
    return values;
  }

  /** The scales a frame in {@code wire} carries for these rows: fp8's, none otherwise. */
  private static List<Object> scales(WirePrecision wire, float[] rows, int count, int hidden) {
    List<Object> scales = new ArrayList<>();
    if (wire == WirePrecision.FP8) {
      for (int t = 0; t < count; t++) {
        scales.add(E4m3.quantize(rows, t * hidden, hidden, new byte[hidden]));
      }
    }
    return scales;
  }

  /** The values a frame in {@code wire} carries for these rows, fp8 codes before their scale. */
  private static List<Object> onTheWire(WirePrecision wire, float[] rows, int count, int hidden) {
    List<Object> values = new ArrayList<>();
    for (int t = 0; t < count; t++) {
      byte[] codes = new byte[hidden];
      E4m3.quantize(rows, t * hidden, hidden, codes);
      for (int j = 0; j < hidden; j++) {
        float v = rows[t * hidden + j];
        values.add(
            switch (wire) {
              case F32 -> v;
              case BF16 -> Bf16.widen(Bf16.narrow(v));
              case FP8 -> E4m3.value(codes[j]);
            });
      }
    }
    return values;
  }

  private static List<Object> boxed(float[] values) {
    List<Object> boxed = new ArrayList<>();
    for (float v : values) {
      boxed.add(v);
    }
    return boxed;
  }
}
