"""Reading every WAV an editor may hand over, and resampling that keeps the top octave."""
import numpy as np
import pytest

from scorefit.core.audio import Audio, AudioError, load, read_wav, resample, wav_bytes
from wavfile import write


def tone(freq, rate, seconds=1.0, channels=2, level=0.5):
    t = np.arange(int(rate * seconds)) / rate
    return np.repeat((level * np.sin(2 * np.pi * freq * t))[:, None], channels, axis=1)


@pytest.mark.parametrize("bits,floating,extensible", [(16, False, False), (24, False, False),
                                                      (32, True, False), (24, False, True), (64, True, False)])
@pytest.mark.parametrize("channels", [1, 2])
def test_pcm_and_float_wav_read_back_exactly(tmp_path, bits, floating, extensible, channels):
    samples = tone(440, 44100, 0.2, channels)
    path = tmp_path / "x.wav"
    write(path, samples, 44100, bits=bits, floating=floating, extensible=extensible)
    audio = read_wav(path)
    assert audio.rate == 44100 and audio.channels == channels and audio.frames == samples.shape[0]
    step = 2.0 ** -(bits - 1) if not floating else 1e-7
    assert np.max(np.abs(audio.samples - samples)) <= step


def test_written_wav_is_16_bit_stereo_and_reads_back(tmp_path):
    audio = Audio(tone(1000, 48000, 0.1).astype(np.float32), 48000)
    data = wav_bytes(audio)
    (tmp_path / "o.wav").write_bytes(data)
    back = read_wav(tmp_path / "o.wav")
    assert back.frames == audio.frames and np.max(np.abs(back.samples - audio.samples)) < 1 / 32767


def test_not_a_wav_or_missing_or_damaged_is_a_clear_error(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"hello, not audio")
    with pytest.raises(AudioError, match="not a WAV file"):
        read_wav(tmp_path / "a.wav")
    with pytest.raises(AudioError, match="no audio file"):
        load(tmp_path / "missing.wav")
    (tmp_path / "b.wav").write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(AudioError, match="damaged"):
        read_wav(tmp_path / "b.wav")


def test_an_editors_mp3_without_a_decoder_says_to_convert_it_not_to_spend(tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    (tmp_path / "song.mp3").write_bytes(b"\xff\xfb" + bytes(400))
    with pytest.raises(AudioError) as raised:
        load(tmp_path / "song.mp3")
    message = str(raised.value)
    assert "song.mp3" in message and "FFmpeg" in message and "convert it to WAV" in message
    assert "credit" not in message


def spectrum_db(samples, rate):
    x = samples[rate // 10:-rate // 10, 0].astype(np.float64)
    window = np.hanning(x.size)
    magnitude = np.abs(np.fft.rfft(x * window)) / (window.sum() / 2)
    return np.fft.rfftfreq(x.size, 1 / rate), 20 * np.log10(magnitude + 1e-12)


@pytest.mark.parametrize("source,target", [(44100, 48000), (96000, 48000), (48000, 44100)])
def test_resampling_keeps_20_khz_within_half_a_db(source, target):
    out = resample(Audio(tone(20000, source, level=0.5).astype(np.float32), source), target)
    assert out.frames == round(source * 1.0 * target / source)
    freqs, db = spectrum_db(out.samples, target)
    peak = db[np.argmin(np.abs(freqs - 20000))]
    assert peak == pytest.approx(20 * np.log10(0.5), abs=0.5)


def test_resampling_aliases_below_minus_80_db():
    # 30 kHz cannot exist at 48 kHz: it must vanish, not fold down to 18 kHz.
    out = resample(Audio(tone(30000, 96000, level=0.5).astype(np.float32), 96000), 48000)
    assert 20 * np.log10(np.abs(out.samples[4800:-4800]).max() / 0.5) < -80
    # And upsampling a 15 kHz tone adds nothing anywhere else.
    out = resample(Audio(tone(15000, 44100).astype(np.float32), 44100), 48000)
    freqs, db = spectrum_db(out.samples, 48000)
    far = np.abs(freqs - 15000) > 200
    assert db[far].max() - db[~far].max() < -80


def test_loudness_matches_the_reference_meter_and_levels_to_a_target():
    """BS.1770-4 in NumPy alone, against pyloudnorm (SciPy's filters) on music and on
    EBU Tech 3341-style tones; then a delivery target with the true peak kept safe."""
    import numpy as np
    import pyloudnorm
    from music import song
    from scorefit.core import loudness
    from scorefit.core.audio import Audio
    rate = 48000
    t = np.arange(rate * 20) / rate
    music, _ = song(40, bpm=110, ending="ring", rate=rate)
    signals = {
        "music": music.samples,
        "1 kHz at -20 dBFS": np.stack([np.sin(2 * np.pi * 1000 * t) * 0.1] * 2, 1),
        "100 Hz, quiet": np.stack([np.sin(2 * np.pi * 100 * t) * 0.01] * 2, 1),
        "noise": np.random.default_rng(0).standard_normal((rate * 20, 2)) * 0.1,
        # Tech 3341 case 1-like: a gated stretch of silence must not pull the level down.
        "tone then silence": np.concatenate([np.stack([np.sin(2 * np.pi * 1000 * t) * 0.1] * 2, 1),
                                            np.zeros((rate * 10, 2))]),
    }
    meter = pyloudnorm.Meter(rate)
    for name, samples in signals.items():
        ours = loudness.integrated(Audio(samples.astype(np.float32), rate))
        assert abs(ours - meter.integrated_loudness(samples.astype(np.float64))) < 0.1, name
    # Only the stretches that can hold the true peak are oversampled: the same answer.
    everywhere = loudness.oversampled_peaks(music.samples, above=0.0).max()
    assert abs(loudness.true_peak(Audio(music.samples, rate)) - 20 * np.log10(everywhere)) < 1e-4
    sine = np.stack([np.sin(2 * np.pi * 997 * t[:rate]) * 0.5] * 2, 1).astype(np.float32)
    assert abs(loudness.true_peak(Audio(sine, rate)) - 20 * np.log10(0.5)) < 0.05
    loud = Audio((music.samples * 3).astype(np.float32), rate)          # clips past full scale
    out, level = loudness.to_target(loud, -14.0)
    assert level.limited and loudness.true_peak(out) <= -1.0 + 1e-6
    assert abs(meter.integrated_loudness(out.samples.astype(np.float64)) - -14.0) < 0.5
    quiet, level = loudness.to_target(Audio(music.samples, rate), -30.0)    # turned down: no limiting
    assert not level.limited and abs(level.after_lufs - -30.0) < 0.05 and level.gain_db < 0


def test_ducking_lowers_the_music_where_speech_plays_and_restores_it_in_gaps():
    """Speech-like bursts (band-limited noise, syllables with breaths) at known times under
    steady music: ducked by the depth while they play, back within 1 dB in a long gap."""
    import numpy as np
    from scorefit.core.audio import Audio
    from scorefit.core.ducking import DuckOptions, duck
    rate = 48000
    rng = np.random.default_rng(3)
    t = np.arange(rate * 20) / rate
    music = Audio(np.stack([np.sin(2 * np.pi * 220 * t) * 0.3] * 2, 1).astype(np.float32), rate)
    voice = np.zeros(rate * 20, np.float32)
    speech = [(2.0, 5.0), (11.0, 13.5)]            # seconds
    for start, end in speech:
        for syllable in np.arange(start, end, 0.25):   # 0.2-s syllables, 0.05-s breaths
            a, b = int(syllable * rate), int(min(end, syllable + 0.2) * rate)
            noise = np.fft.rfft(rng.standard_normal(b - a))
            freqs = np.fft.rfftfreq(b - a, 1 / rate)
            noise[(freqs < 300) | (freqs > 3000)] = 0
            voice[a:b] = np.fft.irfft(noise, b - a).astype(np.float32) * 0.05
    voices = Audio(np.stack([voice, voice], 1), rate)
    out, info = duck(music, [voices])
    found = info["speech"]
    assert len(found) == 2 and all(abs(f[0] - s[0]) < 0.05 and abs(f[1] - s[1]) < 0.1 for f, s in zip(found, speech))

    def level_db(at):
        a = int(at * rate)
        ratio = np.abs(out.samples[a:a + 4800]).max() / np.abs(music.samples[a:a + 4800]).max()
        return 20 * np.log10(ratio)
    assert abs(level_db(3.5) - DuckOptions().depth_db) < 0.5          # under speech
    assert abs(level_db(8.0)) < 1.0                                    # a 6-s gap: restored
    assert abs(level_db(0.5)) < 0.01 and abs(level_db(18.0)) < 0.01
    times = [p[0] for p in info["keyframes"]]
    assert times == sorted(times) and info["keyframes"][0] == [round(2.0 - 0.015, 4), 0.0]
