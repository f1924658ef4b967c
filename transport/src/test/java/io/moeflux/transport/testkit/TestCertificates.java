package io.moeflux.transport.testkit;

import io.moeflux.transport.TlsConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority made at test time (BouncyCastle), and certificates it issues for loopback
 * (IP 127.0.0.1 and the name localhost), written as PEM files: no certificate is ever committed.
 * Keys are EC P-256; certificates last a day.
 */
public final class TestCertificates {
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  private final Path dir;
  private final X500Name name;
  private final KeyPair keys;
  private final X509Certificate certificate;
  private final Path file;

  private TestCertificates(Path dir, String name) {
    this.dir = dir;
    this.name = new X500Name("CN=" + name);
    this.keys = keyPair();
    try {
      X509v3CertificateBuilder builder = builder(this.name, this.name, keys);
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      this.certificate = sign(builder, keys);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.file = dir.resolve(name.replace(' ', '-') + ".pem");
    write(file, certificate);
  }

  /** A new authority called {@code name}, its files in {@code dir}. */
  public static TestCertificates authority(Path dir, String name) {
    return new TestCertificates(dir, name);
  }

  /** The authority's certificate, PEM: what a side that trusts it is given. */
  public Path certificate() {
    return file;
  }

  /** A certificate and key for {@code name} on loopback, issued by this authority. */
  public TlsConfig.Builder issue(String name) {
    KeyPair leaf = keyPair();
    X509Certificate issued;
    try {
      X509v3CertificateBuilder builder = builder(this.name, new X500Name("CN=" + name), leaf);
      builder.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(
              new GeneralName[] {
                new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                new GeneralName(GeneralName.dNSName, "localhost")
              }));
      builder.addExtension(
          Extension.extendedKeyUsage,
          false,
          new ExtendedKeyUsage(
              new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      issued = sign(builder, keys);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path chain = dir.resolve(name + ".crt");
    Path key = dir.resolve(name + ".key");
    write(chain, issued);
    try (Writer out = Files.newBufferedWriter(key, StandardCharsets.US_ASCII);
        JcaPEMWriter pem = new JcaPEMWriter(out)) {
      pem.writeObject(new JcaPKCS8Generator(leaf.getPrivate(), null));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return TlsConfig.builder().certificateChain(chain).privateKey(key).trustedCertificates(file);
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair keys) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(1))),
        subject,
        keys.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, KeyPair signer) {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(
              builder.build(
                  new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot sign a test certificate", e);
    }
  }

  private static KeyPair keyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(256);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("no EC key generator", e);
    }
  }

  private static void write(Path path, X509Certificate certificate) {
    try (Writer out = Files.newBufferedWriter(path, StandardCharsets.US_ASCII);
        JcaPEMWriter pem = new JcaPEMWriter(out)) {
      pem.writeObject(certificate);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
