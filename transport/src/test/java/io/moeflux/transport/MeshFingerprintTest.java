package io.moeflux.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MeshFingerprintTest {

  @Test
  void entriesKeepTheirOrderButOrderDoesNotMatterForAgreement() {
    MeshFingerprint a = MeshFingerprint.builder().put("model", "m").put("capacity", 8).build();
    MeshFingerprint b = MeshFingerprint.builder().put("capacity", 8).put("model", "m").build();
    assertThat(a.entries().keySet()).containsExactly("model", "capacity");
    assertThat(a.differences(b)).isEmpty();
    assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
    assertThat(a.toString()).isEqualTo("model=m, capacity=8");
    assertThat(a.value("capacity")).isEqualTo("8");
    assertThat(a.value("kernel")).isNull();
  }

  @Test
  void differencesNameBothValuesOrTheirAbsence() {
    MeshFingerprint here = MeshFingerprint.builder().put("model", "m").put("capacity", 8).build();
    MeshFingerprint there = here.toBuilder().put("kernel", "simd").build();
    assertThat(here.differences(there))
        .containsExactly(new MeshFingerprint.Difference("kernel", null, "simd"));
    assertThat(there.differences(here).get(0).toString())
        .isEqualTo("kernel 'simd' here, (absent) there");
    assertThat(here.differences(MeshFingerprint.of("model", "n")))
        .extracting(Object::toString)
        .containsExactly("model 'm' here, 'n' there", "capacity '8' here, (absent) there");
  }

  @Test
  void theBuilderRefusesWhatAHandshakeCouldNotCarry() {
    assertThatThrownBy(() -> MeshFingerprint.builder().put("", "x"))
        .hasMessage("fingerprint key must not be empty");
    assertThatThrownBy(() -> MeshFingerprint.builder().put("a", "x").put("a", "y"))
        .hasMessage("fingerprint key 'a' is already present");
    assertThatThrownBy(
            () -> MeshFingerprint.of("a", "x".repeat(MeshFingerprint.MAX_VALUE_BYTES + 1)))
        .hasMessage("fingerprint value of 'a' is 1025 bytes, over the limit of 1024");
    MeshFingerprint.Builder full = MeshFingerprint.builder();
    for (int i = 0; i < MeshFingerprint.MAX_ENTRIES; i++) {
      full.put("k" + i, "v");
    }
    assertThatThrownBy(() -> full.put("one-more", "v"))
        .hasMessage("a fingerprint holds at most 64 entries");
  }
}
