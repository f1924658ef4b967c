package io.moeflux.cli;

import io.moeflux.transport.TlsConfig;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** TLS files: this side's certificate and key, the certificates it trusts, mutual or not. */
final class TlsOptions {
  @Option(names = "--tls-cert", paramLabel = "FILE")
  @Nullable Path certificate;

  @Option(names = "--tls-key", paramLabel = "FILE")
  @Nullable Path key;

  @Option(names = "--tls-ca", paramLabel = "FILE")
  @Nullable Path trusted;

  @Option(names = "--tls-mutual")
  boolean mutual;

  /** The TLS configuration, or null when TLS is off. */
  @Nullable TlsConfig config() {
    if (certificate == null && key == null) {
      if (trusted != null || mutual) {
        throw new IllegalArgumentException(
            "--tls-ca and --tls-mutual need --tls-cert and --tls-key");
      }
      return null;
    }
    if (certificate == null || key == null) {
      throw new IllegalArgumentException("TLS needs both --tls-cert and --tls-key");
    }
    TlsConfig.Builder builder =
        TlsConfig.builder().certificateChain(certificate).privateKey(key).mutual(mutual);
    if (trusted != null) {
      builder.trustedCertificates(trusted);
    }
    return builder.build();
  }
}
