package io.moeflux.pipeline.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
  @TempDir Path dir;

  @Test
  void writtenTensorsReadBackInTheirStoredPrecision() throws IOException {
    float[] values = {1f, -2.5f, 0.1f, 3.14159f, -0f, 65504f};
    long[] shape = {2, 3};
    Path file = dir.resolve("t.safetensors");
    SafetensorsWriter.create()
        .metadata("format", "pt")
        .add("f32", TensorDtype.F32, shape, values)
        .add("bf16", TensorDtype.BF16, shape, values)
        .add("f16", TensorDtype.F16, shape, values)
        .addInts("ids", new long[] {3}, new int[] {7, -1, 1 << 30})
        .add("empty", TensorDtype.F32, new long[] {0, 4}, new float[0])
        .write(file);
    try (SafetensorsFile st = SafetensorsFile.open(file)) {
      assertThat(st.metadata()).containsEntry("format", "pt");
      assertThat(st.tensors().keySet()).containsExactly("f32", "bf16", "f16", "ids", "empty");
      assertThat(st.readFloats("f32")).containsExactly(values);
      StoredTensor bf16 = st.readStored("bf16");
      assertThat(bf16.dtype()).isEqualTo(TensorDtype.BF16);
      assertThat(bf16.rows()).isEqualTo(2);
      assertThat(bf16.cols()).isEqualTo(3);
      assertThat(bf16.sameBits(StoredTensor.rounded(TensorDtype.BF16, shape, values))).isTrue();
      assertThat(
              st.readStored("f16").sameBits(StoredTensor.rounded(TensorDtype.F16, shape, values)))
          .isTrue();
      assertThat(st.readInts("ids")).containsExactly(7, -1, 1 << 30);
      assertThat(st.readFloats("empty")).isEmpty();
      TensorInfo info = st.tensor("bf16");
      assertThat(info.begin() % 2).isZero();
    }
    // the data section starts 8-byte aligned, as safetensors writes it
    ByteBuffer length =
        ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(length.getLong() % 8).isZero();
  }

  @Test
  void anUnsupportedDtypeIsRefusedNamingTheTensorAndTheDtype() throws IOException {
    Path file =
        rawFile("{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", new byte[16]);
    try (SafetensorsFile st = SafetensorsFile.open(file)) {
      assertThatThrownBy(() -> st.readStored("w"))
          .isInstanceOf(CheckpointException.class)
          .hasMessageContaining("'w'")
          .hasMessageContaining("F64");
      assertThatThrownBy(() -> st.readStored("nope"))
          .isInstanceOf(CheckpointException.class)
          .hasMessageContaining("no tensor named 'nope'");
    }
  }

  @Test
  void malformedFilesAreRefusedWithWhatIsWrong() throws IOException {
    assertRefused(rawFile("not json", new byte[0]), "not JSON");
    assertRefused(rawFile("[1,2]", new byte[0]), "not a JSON object");
    assertRefused(
        rawFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]),
        "outside the 4 data bytes");
    assertRefused(
        rawFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]),
        "12 bytes, but its data_offsets span 8");
    assertRefused(
        rawFile(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            new byte[12]),
        "overlap");
    assertRefused(
        rawFile(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
            new byte[8]),
        "not JSON");
    assertRefused(
        rawFile("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", new byte[0]),
        "bad dimension");
    assertRefused(rawFile("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "dtype");

    Path tooLong = dir.resolve("long.safetensors");
    ByteBuffer header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    header.putLong(SafetensorsFile.MAX_HEADER_BYTES + 1);
    Files.write(tooLong, header.array());
    assertRefused(tooLong, "header length");

    Path pastEnd = dir.resolve("past.safetensors");
    header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    header.putLong(1000);
    Files.write(pastEnd, header.array());
    assertRefused(pastEnd, "runs past the end");

    Path tiny = dir.resolve("tiny.safetensors");
    Files.write(tiny, new byte[3]);
    assertRefused(tiny, "fewer than the 8-byte length");
    assertRefused(dir.resolve("missing.safetensors"), "no such file");
  }

  private static void assertRefused(Path file, String message) {
    assertThatThrownBy(() -> SafetensorsFile.open(file).close())
        .isInstanceOf(CheckpointException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining(message);
  }

  private Path rawFile(String header, byte[] data) throws IOException {
    byte[] json = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buffer =
        ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    buffer.putLong(json.length).put(json).put(data);
    Path file = Files.createTempFile(dir, "raw", ".safetensors");
    Files.write(file, buffer.array());
    return file;
  }
}
