// What TLS 1.3 records cost in OpenSSL itself, without a proxy: a client and
// a server SSL joined by a BIO pair (memory, no system call) exchange
// request/response pairs of PAYLOAD bytes each way, as one kept-alive
// request crosses the mTLS hop between two proxies: one record written and
// one read on each side. The same exchange through the bare BIO pair is the
// baseline, so "added" is what TLS adds per request for both proxies.
//
// Built against whichever OpenSSL the compiler is pointed at (bench/proxy/
// tls_records.sh builds it against Debian's 3.0 and, given its source, a
// newer one), to tell how much of weft-proxy's per-request mTLS cost is
// OpenSSL's record layer and what a newer OpenSSL would change.
//
//   tls_records [--payload BYTES] [--exchanges N] [--rounds R]
//       prints the median ns per exchange (TLS, bare, added) over R rounds
//   tls_records --only tls|bare --exchanges N
//       one run of N exchanges and nothing else (for callgrind: run it for N
//       and 2N, and the difference divided by N is the count per exchange)

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "tls_records: %s\n", what);
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

double cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

// A P-256 key and a self-signed certificate for it: the records do not
// depend on the chain, and the handshake is outside the measurement.
void make_credentials(EVP_PKEY** key, X509** cert) {
  *key = EVP_EC_gen("P-256");
  if (*key == nullptr) die("EVP_EC_gen");
  *cert = X509_new();
  if (*cert == nullptr) die("X509_new");
  X509_set_version(*cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(*cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(*cert), 3600);
  X509_NAME* name = X509_get_subject_name(*cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("bench"), -1, -1, 0);
  X509_set_issuer_name(*cert, name);
  X509_set_pubkey(*cert, *key);
  if (X509_sign(*cert, *key, EVP_sha256()) == 0) die("X509_sign");
}

SSL_CTX* context(bool server, EVP_PKEY* key, X509* cert) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) die("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  // As weft-proxy sets its contexts: records read ahead, partial writes.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
  // Both sides present a certificate (mutual TLS), P-256 only.
  SSL_CTX_set1_groups_list(ctx, "P-256");
  if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    die("credentials");
  }
  if (server) {
    SSL_CTX_set_num_tickets(ctx, 0);  // no ticket records after the handshake
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       [](int, X509_STORE_CTX*) { return 1; });
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
  }
  return ctx;
}

struct Pair {
  SSL* client = nullptr;
  SSL* server = nullptr;
  BIO* client_end = nullptr;  // the bare pair, for the baseline
  BIO* server_end = nullptr;
};

Pair connect(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  Pair pair;
  pair.client = SSL_new(client_ctx);
  pair.server = SSL_new(server_ctx);
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 1 << 16, &server_bio, 1 << 16) != 1) die("BIO pair");
  SSL_set_bio(pair.client, client_bio, client_bio);
  SSL_set_bio(pair.server, server_bio, server_bio);
  SSL_set_connect_state(pair.client);
  SSL_set_accept_state(pair.server);
  for (int i = 0; i < 20; ++i) {
    const int c = SSL_do_handshake(pair.client);
    const int s = SSL_do_handshake(pair.server);
    if (c == 1 && s == 1) break;
    if (i == 19) die("handshake");
  }
  if (BIO_new_bio_pair(&pair.client_end, 1 << 16, &pair.server_end, 1 << 16) != 1) {
    die("BIO pair");
  }
  return pair;
}

void write_all(SSL* ssl, const std::string& data) {
  size_t written = 0;
  if (SSL_write_ex(ssl, data.data(), data.size(), &written) != 1 || written != data.size()) {
    die("SSL_write_ex");
  }
}

void read_all(SSL* ssl, std::vector<char>& buffer, size_t expected) {
  size_t got = 0;
  while (got < expected) {
    size_t n = 0;
    if (SSL_read_ex(ssl, buffer.data() + got, buffer.size() - got, &n) != 1) die("SSL_read_ex");
    got += n;
  }
}

void bare_write(BIO* bio, const std::string& data) {
  if (BIO_write(bio, data.data(), static_cast<int>(data.size())) != static_cast<int>(data.size())) {
    die("BIO_write");
  }
}

void bare_read(BIO* bio, std::vector<char>& buffer, size_t expected) {
  size_t got = 0;
  while (got < expected) {
    const int n = BIO_read(bio, buffer.data() + got, static_cast<int>(buffer.size() - got));
    if (n <= 0) die("BIO_read");
    got += static_cast<size_t>(n);
  }
}

// One request each way per exchange: client writes, server reads, server
// writes, client reads.
void exchanges(Pair& pair, bool tls, long count, const std::string& request,
               const std::string& response, std::vector<char>& buffer) {
  for (long i = 0; i < count; ++i) {
    if (tls) {
      write_all(pair.client, request);
      read_all(pair.server, buffer, request.size());
      write_all(pair.server, response);
      read_all(pair.client, buffer, response.size());
    } else {
      bare_write(pair.client_end, request);
      bare_read(pair.server_end, buffer, request.size());
      bare_write(pair.server_end, response);
      bare_read(pair.client_end, buffer, response.size());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  size_t payload = 100;
  long count = 200000;
  int rounds = 5;
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--payload") {
      payload = std::strtoul(argv[i + 1], nullptr, 10);
    } else if (flag == "--exchanges") {
      count = std::strtol(argv[i + 1], nullptr, 10);
    } else if (flag == "--rounds") {
      rounds = std::atoi(argv[i + 1]);
    } else if (flag == "--only") {
      only = argv[i + 1];
    } else {
      die("usage: tls_records [--payload BYTES] [--exchanges N] [--rounds R] [--only tls|bare]");
    }
  }
  if (payload == 0 || payload > 16000 || count <= 0 || rounds <= 0) die("bad arguments");
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  make_credentials(&key, &cert);
  SSL_CTX* client_ctx = context(false, key, cert);
  SSL_CTX* server_ctx = context(true, key, cert);
  Pair pair = connect(client_ctx, server_ctx);
  const std::string request(payload, 'q');
  const std::string response(payload, 'r');
  std::vector<char> buffer(payload + 64);
  exchanges(pair, true, 1000, request, response, buffer);  // warm-up
  exchanges(pair, false, 1000, request, response, buffer);
  if (!only.empty()) {
    exchanges(pair, only == "tls", count, request, response, buffer);
    return 0;
  }
  std::vector<double> tls_ns, bare_ns;
  for (int r = 0; r < rounds; ++r) {
    double start = cpu_ns();
    exchanges(pair, true, count, request, response, buffer);
    tls_ns.push_back((cpu_ns() - start) / static_cast<double>(count));
    start = cpu_ns();
    exchanges(pair, false, count, request, response, buffer);
    bare_ns.push_back((cpu_ns() - start) / static_cast<double>(count));
  }
  const auto median = [](std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  };
  const double tls = median(tls_ns);
  const double bare = median(bare_ns);
  std::printf("openssl=%s cipher=%s payload=%zu tls_ns=%.1f bare_ns=%.1f added_ns=%.1f\n",
              OpenSSL_version(OPENSSL_VERSION_STRING), SSL_get_cipher_name(pair.client), payload,
              tls, bare, tls - bare);
  return 0;
}
