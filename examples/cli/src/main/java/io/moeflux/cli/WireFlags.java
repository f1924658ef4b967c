package io.moeflux.cli;

import io.moeflux.transport.protocol.WireFormat;
import io.moeflux.transport.protocol.WirePrecision;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** {@code --wire} and {@code --combine-wire}: the precision of hidden rows between ranks. */
final class WireFlags {
  @Option(names = "--wire", converter = WireOptions.PrecisionConverter.class)
  WirePrecision wire = WirePrecision.F32;

  @Option(names = "--combine-wire", converter = WireOptions.PrecisionConverter.class)
  @Nullable WirePrecision combineWire;

  /** {@code --wire} for both phases (fp8 combining in bf16), {@code --combine-wire} overriding. */
  WireFormat format() {
    WireFormat format = WireFormat.of(wire);
    return combineWire == null ? format : format.withCombine(combineWire);
  }
}
