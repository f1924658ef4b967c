package io.moeflux.cli;

import io.moeflux.pipeline.Overlap;
import io.moeflux.transport.protocol.WirePrecision;
import picocli.CommandLine.ITypeConverter;

/** How {@code --wire}, {@code --combine-wire} and {@code --overlap} read their values. */
final class WireOptions {
  private WireOptions() {}

  /** {@code f32}, {@code bf16} or {@code fp8}, any case. */
  static final class PrecisionConverter implements ITypeConverter<WirePrecision> {
    @Override
    public WirePrecision convert(String value) {
      return WirePrecision.parse(value);
    }
  }

  /** {@code off}, {@code on}, {@code auto} or {@code alternating/N}. */
  static final class OverlapConverter implements ITypeConverter<Overlap> {
    @Override
    public Overlap convert(String value) {
      return Overlap.parse(value);
    }
  }
}
