/* libopus alone, the floor for the engine's Opus <-> PCMU transcoding
 * (tandem_bench transcode): the same 8 kHz PCM file's 20 ms frames, the
 * same encoder settings as modules/codec_opus's defaults (VoIP, voice,
 * in-band FEC planned for 10 % loss, hence 24 kbit/s at 8 kHz, no DTX), a
 * complexity from the command line. Per call-second (50 frames each way)
 * it times one Opus encode and one Opus decode per frame (each second of
 * the file's fastest of 5 rounds, as tandem_bench does), and reports the
 * quality of what comes out: segmental SNR of the decoded speech against
 * the input and log-spectral distance, aligned by the encoder's look-ahead.
 * Usage: opus_floor PCM_FILE COMPLEXITY */
#define _USE_MATH_DEFINES
#include <opus/opus.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RATE 8000
#define FRAME 160
#define MAX_PACKET 1275
#define CHUNK 50 /* frames timed together: one second */
#define ROUNDS 5

static double cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static OpusEncoder *encoder(int complexity) {
    int err = 0;
    OpusEncoder *e = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &err);
    if (!e) exit(1);
    opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(complexity));
    opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    opus_encoder_ctl(e, OPUS_SET_BITRATE(24000)); /* the module's choice at 8 kHz with FEC */
    opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(1));
    opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(10));
    opus_encoder_ctl(e, OPUS_SET_DTX(0));
    return e;
}

static int16_t *read_pcm(const char *path, size_t *frames) {
    FILE *f = fopen(path, "rb");
    if (!f) exit(1);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    *frames = (size_t)bytes / 2 / FRAME;
    int16_t *pcm = malloc(*frames * FRAME * 2 + 2);
    if (!pcm || fread(pcm, 2, *frames * FRAME, f) != *frames * FRAME) exit(1);
    fclose(f);
    return pcm;
}

/* Mean over frames with speech in them of each frame's SNR (clamped to
 * -10..60 dB), the decoded signal shifted back by the codec's delay. */
static double segmental_snr(const int16_t *ref, const int16_t *out, size_t samples, int delay) {
    double sum = 0;
    int counted = 0;
    for (size_t at = 0; at + FRAME + (size_t)delay <= samples; at += FRAME) {
        double sig = 0, err = 0;
        for (size_t i = at; i < at + FRAME; ++i) {
            double d = (double)out[i + (size_t)delay] - ref[i];
            sig += (double)ref[i] * ref[i];
            err += d * d;
        }
        if (sig < FRAME * 100.0 * 100.0) continue; /* silence */
        double snr = 10 * log10(sig / (err + 1));
        sum += snr < -10 ? -10 : snr > 60 ? 60 : snr;
        counted++;
    }
    return counted ? sum / counted : 0;
}

/* Mean over speech frames of the log-spectral distance (dB, 0-4 kHz, a
 * Hann-windowed 256-point DFT per 20 ms frame): SNR punishes the phase
 * changes a perceptual codec is free to make, LSD only the spectral
 * envelope the listener hears. */
#define DFT 256
static double log_spectral_distance(const int16_t *ref, const int16_t *out, size_t samples, int delay) {
    static double cosines[DFT], window[FRAME];
    for (int k = 0; k < DFT; ++k) cosines[k] = cos(2 * M_PI * k / DFT);
    for (int i = 0; i < FRAME; ++i) window[i] = 0.5 - 0.5 * cos(2 * M_PI * i / (FRAME - 1));
    double sum = 0;
    int counted = 0;
    for (size_t at = 0; at + FRAME + (size_t)delay <= samples; at += FRAME) {
        double energy = 0, d2 = 0;
        for (size_t i = at; i < at + FRAME; ++i) energy += (double)ref[i] * ref[i];
        if (energy < FRAME * 100.0 * 100.0) continue; /* silence */
        for (int k = 1; k < DFT / 2; ++k) {
            double re[2] = {0, 0}, im[2] = {0, 0};
            for (int i = 0; i < FRAME; ++i) {
                double c = cosines[(k * i) % DFT], s = cosines[(k * i + DFT * 3 / 4) % DFT];
                re[0] += window[i] * ref[at + (size_t)i] * c;
                im[0] -= window[i] * ref[at + (size_t)i] * s;
                re[1] += window[i] * out[at + (size_t)i + (size_t)delay] * c;
                im[1] -= window[i] * out[at + (size_t)i + (size_t)delay] * s;
            }
            double diff = 10 * log10((re[0] * re[0] + im[0] * im[0] + 1) / (re[1] * re[1] + im[1] * im[1] + 1));
            d2 += diff * diff;
        }
        sum += sqrt(d2 / (DFT / 2 - 1));
        counted++;
    }
    return counted ? sum / counted : 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: opus_floor PCM_FILE COMPLEXITY\n");
        return 2;
    }
    size_t frames = 0;
    int16_t *pcm = read_pcm(argv[1], &frames);
    int complexity = atoi(argv[2]);
    unsigned char(*packets)[MAX_PACKET] = malloc(frames * MAX_PACKET);
    int *lens = malloc(frames * sizeof *lens);
    int16_t *decoded = malloc(frames * FRAME * 2);
    if (!packets || !lens || !decoded) return 1;

    /* The machine's noise only ever adds time: each second of audio (a chunk
     * of 50 frames) is timed in every round and its fastest round counts. */
    size_t chunks = (frames + CHUNK - 1) / CHUNK;
    double *enc_us = malloc(chunks * sizeof *enc_us), *dec_us = malloc(chunks * sizeof *dec_us);
    if (!enc_us || !dec_us) return 1;
    for (size_t c = 0; c < chunks; ++c) enc_us[c] = dec_us[c] = 1e18;
    size_t bytes = 0;
    int delay = 0;
    for (int round = 0; round < ROUNDS; ++round) {
        OpusEncoder *e = encoder(complexity);
        OpusDecoder *d = opus_decoder_create(RATE, 1, NULL);
        opus_encoder_ctl(e, OPUS_GET_LOOKAHEAD(&delay));
        bytes = 0;
        for (size_t c = 0; c < chunks; ++c) {
            size_t end = (c + 1) * CHUNK < frames ? (c + 1) * CHUNK : frames;
            double t0 = cpu_us();
            for (size_t i = c * CHUNK; i < end; ++i) {
                lens[i] = opus_encode(e, pcm + i * FRAME, FRAME, packets[i], MAX_PACKET);
                if (lens[i] < 0) return 1;
                bytes += (size_t)lens[i];
            }
            double t1 = cpu_us();
            for (size_t i = c * CHUNK; i < end; ++i)
                if (opus_decode(d, packets[i], lens[i], decoded + i * FRAME, FRAME, 0) != FRAME) return 1;
            double t2 = cpu_us();
            enc_us[c] = fmin(enc_us[c], t1 - t0);
            dec_us[c] = fmin(dec_us[c], t2 - t1);
        }
        opus_encoder_destroy(e);
        opus_decoder_destroy(d);
    }
    double best_enc = 0, best_dec = 0;
    for (size_t c = 0; c < chunks; ++c) {
        best_enc += enc_us[c];
        best_dec += dec_us[c];
    }
    free(enc_us);
    free(dec_us);
    double seconds = frames / 50.0;
    printf("opus_floor: %zu frames, complexity %d at 8 kHz\n", frames, complexity);
    printf("  libopus encode per 20 ms frame          : %8.1f us\n", best_enc / frames);
    printf("  libopus decode per 20 ms frame          : %8.1f us\n", best_dec / frames);
    printf("  libopus alone per call-second (enc+dec) : %8.1f us\n", (best_enc + best_dec) / seconds);
    printf("  bitrate                                 : %8.1f kbit/s\n", bytes * 8 / seconds / 1000);
    printf("  segmental SNR of the decoded speech     : %8.2f dB\n",
           segmental_snr(pcm, decoded, frames * FRAME, delay));
    printf("  log-spectral distance (lower is better) : %8.2f dB\n",
           log_spectral_distance(pcm, decoded, frames * FRAME, delay));
    free(packets);
    free(lens);
    free(decoded);
    free(pcm);
    return 0;
}
