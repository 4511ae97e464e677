package io.pando.ep.aesgcm.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AesGcmCodecTest {

    private static final byte[] KEY = AesGcmCodec.parseKey("feffe9928665731c6d6a8f9467308308");

    @Test
    void roundTripsAndLaysOutNonceCiphertextTag() throws Exception {
        byte[] nonce = AesGcmCodec.nonce(0x01020304, 0x05060708090A0B0CL);
        assertArrayEquals(HexFormat.of().parseHex("0102030405060708090a0b0c"), nonce);
        for (int length : new int[] {0, 1, 16, 1000}) {
            byte[] plain = new byte[length];
            Arrays.fill(plain, (byte) 0x5a);
            byte[] sealed = AesGcmCodec.encrypt(KEY, 42, nonce, plain);
            assertEquals(length + AesGcmCodec.OVERHEAD, sealed.length);
            assertArrayEquals(nonce, Arrays.copyOf(sealed, 12));
            assertArrayEquals(plain, AesGcmCodec.decrypt(KEY, 42, sealed));
            byte[] padded = new byte[sealed.length + 10];
            System.arraycopy(sealed, 0, padded, 3, sealed.length);
            assertArrayEquals(plain, AesGcmCodec.decrypt(KEY, 42, padded, 3, sealed.length));
        }
    }

    @Test
    void matchesAPublishedGcmTestVector() {
        // GCM spec (McGrew & Viega) test case 3 has no AAD; with our AAD the ciphertext is the same and only the
        // tag differs, so check the ciphertext part of the output.
        byte[] nonce = HexFormat.of().parseHex("cafebabefacedbaddecaf888");
        byte[] plain = HexFormat.of().parseHex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
        byte[] sealed = AesGcmCodec.encrypt(KEY, 1, nonce, plain);
        assertEquals("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
                + "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
            HexFormat.of().formatHex(Arrays.copyOfRange(sealed, 12, 12 + plain.length)));
    }

    @Test
    void rejectsTamperingAndTheWrongSessionOrKey() throws Exception {
        byte[] sealed = AesGcmCodec.encrypt(KEY, 42, AesGcmCodec.nonce(9, 9), new byte[64]);
        for (int at = 0; at < sealed.length; at++) {
            byte[] bad = sealed.clone();
            bad[at] ^= 0x10;
            int where = at;
            assertThrows(AEADBadTagException.class, () -> AesGcmCodec.decrypt(KEY, 42, bad), () -> "byte " + where);
        }
        assertThrows(AEADBadTagException.class, () -> AesGcmCodec.decrypt(KEY, 43, sealed));
        assertThrows(AEADBadTagException.class, () -> AesGcmCodec.decrypt(KEY, -42, sealed));
        byte[] otherKey = KEY.clone();
        otherKey[15] ^= 1;
        assertThrows(AEADBadTagException.class, () -> AesGcmCodec.decrypt(otherKey, 42, sealed));
        assertThrows(AEADBadTagException.class, () -> AesGcmCodec.decrypt(KEY, 42, new byte[27]));
        assertArrayEquals(new byte[64], AesGcmCodec.decrypt(KEY, 42, sealed));
    }

    @Test
    void theSessionIdIsTheAssociatedData() {
        byte[] aad = new byte[8];
        AesGcmCodec.aad(0x0102030405060708L, aad);
        assertArrayEquals(HexFormat.of().parseHex("0102030405060708"), aad);
        AesGcmCodec.aad(-1L, aad);
        assertArrayEquals(HexFormat.of().parseHex("ffffffffffffffff"), aad);
    }

    @Test
    void parsesKeysOfEveryAesSizeInEitherCase() {
        assertArrayEquals(KEY, AesGcmCodec.parseKey("FEFFE9928665731C6D6A8F9467308308"));
        assertEquals(24, AesGcmCodec.parseKey("00".repeat(24)).length);
        assertEquals(32, AesGcmCodec.parseKey("Ab".repeat(32)).length);
    }

    @ParameterizedTest(name = "key ''{0}''")
    @CsvSource(delimiter = '|', nullValues = "NULL", value = {
        "NULL                                     | no AES-GCM key: give 32, 48 or 64 hex digits",
        "''                                       | no AES-GCM key: give 32, 48 or 64 hex digits",
        "00112233                                 | got 8 characters",
        "000102030405060708090a0b0c0d0e0f10       | got 34 characters",
        "000102030405060708090a0b0c0d0e0          | got 31 characters",
        "000102030405060708090a0b0c0d0e0g         | found another character at position 32 of 32",
        "' 00102030405060708090a0b0c0d0e0f'       | found another character at position 1 of 32",
        "0x0102030405060708090a0b0c0d0e0f         | found another character at position 2 of 32",
        "0001020304050607０８090a0b0c0d0e0f        | found another character at position 17 of 32",
    })
    void explainsBadKeys(String hex, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AesGcmCodec.parseKey(hex));
        assertTrue(e.getMessage().contains(message.strip()), e::getMessage);
    }

    @Test
    void rejectsWrongKeyAndNonceLengths() {
        assertThrows(IllegalArgumentException.class,
            () -> AesGcmCodec.encrypt(new byte[15], 1, new byte[12], new byte[1]));
        assertThrows(IllegalArgumentException.class,
            () -> AesGcmCodec.encrypt(KEY, 1, new byte[16], new byte[1]));
        assertThrows(IllegalArgumentException.class,
            () -> AesGcmCodec.decrypt(new byte[33], 1, new byte[40]));
    }
}
