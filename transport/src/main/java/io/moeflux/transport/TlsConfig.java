package io.moeflux.transport;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;

/**
 * TLS for a mesh or a server: this side's certificate chain and private key (PEM, the key in
 * PKCS#8), the certificates it trusts (PEM; default: the JVM's), and whether the accepting side
 * requires a certificate from the connecting side (mutual TLS). Immutable; {@link Builder#build()}
 * reads the files once and says which one is wrong.
 */
public final class TlsConfig {
  private final Path certificateChain;
  private final Path privateKey;
  private final @Nullable Path trusted;
  private final boolean mutual;
  private final SslContext server;
  private final SslContext client;

  private TlsConfig(Builder b, Path certificateChain, Path privateKey) {
    this.certificateChain = certificateChain;
    this.privateKey = privateKey;
    this.trusted = b.trusted;
    this.mutual = b.mutual;
    this.server = serverContext();
    this.client = clientContext();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** For the accepting side: presents this side's certificate, requires the peer's if mutual. */
  public SslContext server() {
    return server;
  }

  /** For the connecting side: checks the peer's certificate, presents this side's. */
  public SslContext client() {
    return client;
  }

  /** Whether the accepting side requires a certificate from the connecting side. */
  public boolean mutual() {
    return mutual;
  }

  @Override
  public String toString() {
    return "tls(" + certificateChain + (mutual ? ", mutual" : "") + ")";
  }

  private SslContext serverContext() {
    try {
      SslContextBuilder builder =
          SslContextBuilder.forServer(certificateChain.toFile(), privateKey.toFile())
              .clientAuth(mutual ? ClientAuth.REQUIRE : ClientAuth.NONE);
      if (trusted != null) {
        builder.trustManager(trusted.toFile());
      }
      return builder.build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "TLS: cannot use certificate " + certificateChain + " and key " + privateKey + ": " + e,
          e);
    }
  }

  private SslContext clientContext() {
    try {
      SslContextBuilder builder =
          SslContextBuilder.forClient().keyManager(certificateChain.toFile(), privateKey.toFile());
      if (trusted != null) {
        builder.trustManager(trusted.toFile());
      }
      return builder.build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "TLS: cannot use trusted certificates " + trusted + ": " + e, e);
    }
  }

  /** Collects the files; {@link #build()} reads them. */
  public static final class Builder {
    private @Nullable Path certificateChain;
    private @Nullable Path privateKey;
    private @Nullable Path trusted;
    private boolean mutual;

    private Builder() {}

    /** This side's certificate chain, PEM. Required. */
    public Builder certificateChain(Path file) {
      this.certificateChain = Objects.requireNonNull(file, "certificateChain");
      return this;
    }

    /** This side's private key, PEM (PKCS#8). Required. */
    public Builder privateKey(Path file) {
      this.privateKey = Objects.requireNonNull(file, "privateKey");
      return this;
    }

    /** The certificates this side trusts, PEM; default the JVM's trust store. */
    public Builder trustedCertificates(Path file) {
      this.trusted = Objects.requireNonNull(file, "trustedCertificates");
      return this;
    }

    /** Whether the accepting side requires the connecting side's certificate; default false. */
    public Builder mutual(boolean mutual) {
      this.mutual = mutual;
      return this;
    }

    /**
     * The configuration, its files read.
     *
     * @throws IllegalArgumentException naming the file that is missing, unreadable or not PEM
     */
    public TlsConfig build() {
      Path chain = requireFile("certificateChain", certificateChain);
      Path key = requireFile("privateKey", privateKey);
      if (trusted != null) {
        requireFile("trustedCertificates", trusted);
      }
      return new TlsConfig(this, chain, key);
    }

    private static Path requireFile(String field, @Nullable Path file) {
      if (file == null) {
        throw new IllegalArgumentException("TLS: " + field + " is required");
      }
      if (!Files.isReadable(file)) {
        throw new IllegalArgumentException("TLS: " + field + " " + file + " cannot be read");
      }
      return file;
    }
  }
}
