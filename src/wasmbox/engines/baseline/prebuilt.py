"""The baseline's common operations, compiled ahead (see ``prebuild``, which writes this file: do not edit).

Their helpers (``i32_div_s``, ``S_5_unpack``, ...) are globals that ``operations`` puts into this
module's namespace when it imports it.
"""

# ruff: noqa
# mypy: ignore-errors
# fmt: off

def _prebuilt_0(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a + b) & 0xFFFFFFFF)

def _prebuilt_1(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a - b) & 0xFFFFFFFF)

def _prebuilt_2(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a * b) & 0xFFFFFFFF)

def _prebuilt_3(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a & b)

def _prebuilt_4(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a | b)

def _prebuilt_5(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a ^ b)

def _prebuilt_6(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a << (b & 31)) & 0xFFFFFFFF)

def _prebuilt_7(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a >> (b & 31))

def _prebuilt_8(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((((a ^ 0x80000000) - 0x80000000) >> (b & 31)) & 0xFFFFFFFF)

def _prebuilt_9(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i32_rotl(a, b)

def _prebuilt_10(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i32_rotr(a, b)

def _prebuilt_11(s):
    a = s[-1]
    s[-1] = i32_clz(a)

def _prebuilt_12(s):
    a = s[-1]
    s[-1] = i32_ctz(a)

def _prebuilt_13(s):
    a = s[-1]
    s[-1] = popcnt(a)

def _prebuilt_14(s):
    a = s[-1]
    s[-1] = (a == 0)

def _prebuilt_15(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a == b)

def _prebuilt_16(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a != b)

def _prebuilt_17(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a < b)

def _prebuilt_18(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a > b)

def _prebuilt_19(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a <= b)

def _prebuilt_20(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a >= b)

def _prebuilt_21(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a ^ 0x80000000) < (b ^ 0x80000000))

def _prebuilt_22(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a ^ 0x80000000) > (b ^ 0x80000000))

def _prebuilt_23(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a ^ 0x80000000) <= (b ^ 0x80000000))

def _prebuilt_24(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a ^ 0x80000000) >= (b ^ 0x80000000))

def _prebuilt_25(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a + b) & 0xFFFFFFFFFFFFFFFF)

def _prebuilt_26(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a - b) & 0xFFFFFFFFFFFFFFFF)

def _prebuilt_27(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a * b) & 0xFFFFFFFFFFFFFFFF)

def _prebuilt_28(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a << (b & 63)) & 0xFFFFFFFFFFFFFFFF)

def _prebuilt_29(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a >> (b & 63))

def _prebuilt_30(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i64_shr_s(a, b)

def _prebuilt_31(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i64_rotl(a, b)

def _prebuilt_32(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i64_rotr(a, b)

def _prebuilt_33(s):
    a = s[-1]
    s[-1] = i64_clz(a)

def _prebuilt_34(s):
    a = s[-1]
    s[-1] = i64_ctz(a)

def _prebuilt_35(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a ^ 0x8000000000000000) < (b ^ 0x8000000000000000))

def _prebuilt_36(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a ^ 0x8000000000000000) > (b ^ 0x8000000000000000))

def _prebuilt_37(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a ^ 0x8000000000000000) <= (b ^ 0x8000000000000000))

def _prebuilt_38(s):
    b = s.pop()
    a = s[-1]
    s[-1] = ((a ^ 0x8000000000000000) >= (b ^ 0x8000000000000000))

def _prebuilt_39(s):
    a = s[-1]
    s[-1] = (a & 0xFFFFFFFF)

def _prebuilt_40(s):
    a = s[-1]
    s[-1] = a

def _prebuilt_41(s):
    a = s[-1]
    s[-1] = (((a ^ 0x80000000) - 0x80000000) & 0xFFFFFFFFFFFFFFFF)

def _prebuilt_42(s):
    a = s[-1]
    s[-1] = ((((a & 0xFF) ^ 0x80) - 0x80) & 0xFFFFFFFF)

def _prebuilt_43(s):
    a = s[-1]
    s[-1] = ((((a & 0xFFFF) ^ 0x8000) - 0x8000) & 0xFFFFFFFF)

def _prebuilt_44(s):
    a = s[-1]
    s[-1] = ((((a & 0xFF) ^ 0x80) - 0x80) & 0xFFFFFFFFFFFFFFFF)

def _prebuilt_45(s):
    a = s[-1]
    s[-1] = ((((a & 0xFFFF) ^ 0x8000) - 0x8000) & 0xFFFFFFFFFFFFFFFF)

def _prebuilt_46(s):
    a = s[-1]
    s[-1] = ((((a & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000) & 0xFFFFFFFFFFFFFFFF)

def _prebuilt_47(s):
    a = s[-1]
    s[-1] = fabs(a)

def _prebuilt_48(s):
    a = s[-1]
    s[-1] = (-a)

def _prebuilt_49(s):
    b = s.pop()
    a = s[-1]
    s[-1] = copysign(a, b)

def _prebuilt_50(s):
    a = s[-1]
    s[-1] = fceil(a)

def _prebuilt_51(s):
    a = s[-1]
    s[-1] = ffloor(a)

def _prebuilt_52(s):
    a = s[-1]
    s[-1] = ftrunc(a)

def _prebuilt_53(s):
    a = s[-1]
    s[-1] = fnearest(a)

def _prebuilt_54(s):
    a = s[-1]
    s[-1] = f32_sqrt(a)

def _prebuilt_55(s):
    a = s[-1]
    s[-1] = f64_sqrt(a)

def _prebuilt_56(s):
    b = s.pop()
    a = s[-1]
    s[-1] = fmin(a, b)

def _prebuilt_57(s):
    b = s.pop()
    a = s[-1]
    s[-1] = fmax(a, b)

def _prebuilt_58(s):
    b = s.pop()
    a = s[-1]
    s[-1] = f32_round_arithmetic(a + b)

def _prebuilt_59(s):
    b = s.pop()
    a = s[-1]
    s[-1] = f32_round_arithmetic(a - b)

def _prebuilt_60(s):
    b = s.pop()
    a = s[-1]
    s[-1] = f32_round_arithmetic(a * b)

def _prebuilt_61(s):
    b = s.pop()
    a = s[-1]
    s[-1] = f32_div(a, b)

def _prebuilt_62(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a + b)

def _prebuilt_63(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a - b)

def _prebuilt_64(s):
    b = s.pop()
    a = s[-1]
    s[-1] = (a * b)

def _prebuilt_65(s):
    b = s.pop()
    a = s[-1]
    s[-1] = f64_div(a, b)

def _prebuilt_66(s):
    a = s[-1]
    s[-1] = f32_convert_i32_s(a)

def _prebuilt_67(s):
    a = s[-1]
    s[-1] = f32_convert_i32_u(a)

def _prebuilt_68(s):
    a = s[-1]
    s[-1] = f32_convert_i64_s(a)

def _prebuilt_69(s):
    a = s[-1]
    s[-1] = f32_convert_i64_u(a)

def _prebuilt_70(s):
    a = s[-1]
    s[-1] = float((a ^ 0x80000000) - 0x80000000)

def _prebuilt_71(s):
    a = s[-1]
    s[-1] = float(a)

def _prebuilt_72(s):
    a = s[-1]
    s[-1] = f64_convert_i64_s(a)

def _prebuilt_73(s):
    a = s[-1]
    s[-1] = f32_demote(a)

def _prebuilt_74(s):
    a = s[-1]
    s[-1] = f64_promote(a)

def _prebuilt_75(s):
    a = s[-1]
    s[-1] = f32_bits(a)

def _prebuilt_76(s):
    a = s[-1]
    s[-1] = f64_bits(a)

def _prebuilt_77(s):
    a = s[-1]
    s[-1] = f32_from_bits(a)

def _prebuilt_78(s):
    a = s[-1]
    s[-1] = f64_from_bits(a)

def _prebuilt_79(s):
    a = s[-1]
    s[-1] = i32_trunc_sat_s(a)

def _prebuilt_80(s):
    a = s[-1]
    s[-1] = i32_trunc_sat_u(a)

def _prebuilt_81(s):
    a = s[-1]
    s[-1] = i64_trunc_sat_s(a)

def _prebuilt_82(s):
    a = s[-1]
    s[-1] = i64_trunc_sat_u(a)

def _prebuilt_83(s):
    a = s[-1]
    s[-1] = (a is None)

def _prebuilt_84(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i32_div_s(a, b)

def _prebuilt_85(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i32_div_u(a, b)

def _prebuilt_86(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i32_rem_s(a, b)

def _prebuilt_87(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i32_rem_u(a, b)

def _prebuilt_88(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i64_div_s(a, b)

def _prebuilt_89(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i64_div_u(a, b)

def _prebuilt_90(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i64_rem_s(a, b)

def _prebuilt_91(s):
    b = s.pop()
    a = s[-1]
    s[-1] = i64_rem_u(a, b)

def _prebuilt_92(s):
    a = s[-1]
    s[-1] = i32_trunc_s(a)

def _prebuilt_93(s):
    a = s[-1]
    s[-1] = i32_trunc_u(a)

def _prebuilt_94(s):
    a = s[-1]
    s[-1] = i64_trunc_s(a)

def _prebuilt_95(s):
    a = s[-1]
    s[-1] = i64_trunc_u(a)

def _prebuilt_96(x):
    def op(s):
        s[-1] = ((s[-1] + s[x]) & 0xFFFFFFFF)
    return op

def _prebuilt_97(x):
    def op(s):
        s[-1] = ((s[-1] + x) & 0xFFFFFFFF)
    return op

def _prebuilt_98(x):
    def op(s):
        s[-1] = ((s[-1] - s[x]) & 0xFFFFFFFF)
    return op

def _prebuilt_99(x):
    def op(s):
        s[-1] = ((s[-1] - x) & 0xFFFFFFFF)
    return op

def _prebuilt_100(x):
    def op(s):
        s[-1] = ((s[-1] * s[x]) & 0xFFFFFFFF)
    return op

def _prebuilt_101(x):
    def op(s):
        s[-1] = ((s[-1] * x) & 0xFFFFFFFF)
    return op

def _prebuilt_102(x):
    def op(s):
        s[-1] = (s[-1] & s[x])
    return op

def _prebuilt_103(x):
    def op(s):
        s[-1] = (s[-1] & x)
    return op

def _prebuilt_104(x):
    def op(s):
        s[-1] = (s[-1] | s[x])
    return op

def _prebuilt_105(x):
    def op(s):
        s[-1] = (s[-1] | x)
    return op

def _prebuilt_106(x):
    def op(s):
        s[-1] = (s[-1] ^ s[x])
    return op

def _prebuilt_107(x):
    def op(s):
        s[-1] = (s[-1] ^ x)
    return op

def _prebuilt_108(x):
    def op(s):
        s[-1] = ((s[-1] << (s[x] & 31)) & 0xFFFFFFFF)
    return op

def _prebuilt_109(x):
    def op(s):
        s[-1] = ((s[-1] << (x & 31)) & 0xFFFFFFFF)
    return op

def _prebuilt_110(x):
    def op(s):
        s[-1] = (s[-1] >> (s[x] & 31))
    return op

def _prebuilt_111(x):
    def op(s):
        s[-1] = (s[-1] >> (x & 31))
    return op

def _prebuilt_112(x):
    def op(s):
        s[-1] = ((((s[-1] ^ 0x80000000) - 0x80000000) >> (s[x] & 31)) & 0xFFFFFFFF)
    return op

def _prebuilt_113(x):
    def op(s):
        s[-1] = ((((s[-1] ^ 0x80000000) - 0x80000000) >> (x & 31)) & 0xFFFFFFFF)
    return op

def _prebuilt_114(x):
    def op(s):
        s[-1] = i32_rotl(s[-1], s[x])
    return op

def _prebuilt_115(x):
    def op(s):
        s[-1] = i32_rotl(s[-1], x)
    return op

def _prebuilt_116(x):
    def op(s):
        s[-1] = i32_rotr(s[-1], s[x])
    return op

def _prebuilt_117(x):
    def op(s):
        s[-1] = i32_rotr(s[-1], x)
    return op

def _prebuilt_118(x):
    def op(s):
        s[-1] = (s[-1] == s[x])
    return op

def _prebuilt_119(x):
    def op(s):
        s[-1] = (s[-1] == x)
    return op

def _prebuilt_120(x):
    def op(s):
        s[-1] = (s[-1] != s[x])
    return op

def _prebuilt_121(x):
    def op(s):
        s[-1] = (s[-1] != x)
    return op

def _prebuilt_122(x):
    def op(s):
        s[-1] = (s[-1] < s[x])
    return op

def _prebuilt_123(x):
    def op(s):
        s[-1] = (s[-1] < x)
    return op

def _prebuilt_124(x):
    def op(s):
        s[-1] = (s[-1] > s[x])
    return op

def _prebuilt_125(x):
    def op(s):
        s[-1] = (s[-1] > x)
    return op

def _prebuilt_126(x):
    def op(s):
        s[-1] = (s[-1] <= s[x])
    return op

def _prebuilt_127(x):
    def op(s):
        s[-1] = (s[-1] <= x)
    return op

def _prebuilt_128(x):
    def op(s):
        s[-1] = (s[-1] >= s[x])
    return op

def _prebuilt_129(x):
    def op(s):
        s[-1] = (s[-1] >= x)
    return op

def _prebuilt_130(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x80000000) < (s[x] ^ 0x80000000))
    return op

def _prebuilt_131(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x80000000) < (x ^ 0x80000000))
    return op

def _prebuilt_132(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x80000000) > (s[x] ^ 0x80000000))
    return op

def _prebuilt_133(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x80000000) > (x ^ 0x80000000))
    return op

def _prebuilt_134(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x80000000) <= (s[x] ^ 0x80000000))
    return op

def _prebuilt_135(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x80000000) <= (x ^ 0x80000000))
    return op

def _prebuilt_136(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x80000000) >= (s[x] ^ 0x80000000))
    return op

def _prebuilt_137(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x80000000) >= (x ^ 0x80000000))
    return op

def _prebuilt_138(x):
    def op(s):
        s[-1] = ((s[-1] + s[x]) & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_139(x):
    def op(s):
        s[-1] = ((s[-1] + x) & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_140(x):
    def op(s):
        s[-1] = ((s[-1] - s[x]) & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_141(x):
    def op(s):
        s[-1] = ((s[-1] - x) & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_142(x):
    def op(s):
        s[-1] = ((s[-1] * s[x]) & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_143(x):
    def op(s):
        s[-1] = ((s[-1] * x) & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_144(x):
    def op(s):
        s[-1] = ((s[-1] << (s[x] & 63)) & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_145(x):
    def op(s):
        s[-1] = ((s[-1] << (x & 63)) & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_146(x):
    def op(s):
        s[-1] = (s[-1] >> (s[x] & 63))
    return op

def _prebuilt_147(x):
    def op(s):
        s[-1] = (s[-1] >> (x & 63))
    return op

def _prebuilt_148(x):
    def op(s):
        s[-1] = i64_shr_s(s[-1], s[x])
    return op

def _prebuilt_149(x):
    def op(s):
        s[-1] = i64_shr_s(s[-1], x)
    return op

def _prebuilt_150(x):
    def op(s):
        s[-1] = i64_rotl(s[-1], s[x])
    return op

def _prebuilt_151(x):
    def op(s):
        s[-1] = i64_rotl(s[-1], x)
    return op

def _prebuilt_152(x):
    def op(s):
        s[-1] = i64_rotr(s[-1], s[x])
    return op

def _prebuilt_153(x):
    def op(s):
        s[-1] = i64_rotr(s[-1], x)
    return op

def _prebuilt_154(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x8000000000000000) < (s[x] ^ 0x8000000000000000))
    return op

def _prebuilt_155(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x8000000000000000) < (x ^ 0x8000000000000000))
    return op

def _prebuilt_156(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x8000000000000000) > (s[x] ^ 0x8000000000000000))
    return op

def _prebuilt_157(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x8000000000000000) > (x ^ 0x8000000000000000))
    return op

def _prebuilt_158(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x8000000000000000) <= (s[x] ^ 0x8000000000000000))
    return op

def _prebuilt_159(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x8000000000000000) <= (x ^ 0x8000000000000000))
    return op

def _prebuilt_160(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x8000000000000000) >= (s[x] ^ 0x8000000000000000))
    return op

def _prebuilt_161(x):
    def op(s):
        s[-1] = ((s[-1] ^ 0x8000000000000000) >= (x ^ 0x8000000000000000))
    return op

def _prebuilt_162(memory, offset, x):
    unpack = S_5_unpack
    def op(s):
        s.append(unpack(memory.view, s[x] + offset)[0])
    return op

def _prebuilt_163(memory, offset, x):
    unpack = S_7_unpack
    def op(s):
        s.append(unpack(memory.view, s[x] + offset)[0])
    return op

def _prebuilt_164(memory, offset, x):
    unpack = S_5_unpack
    def op(s):
        s.append(f32_from_bits(unpack(memory.view, s[x] + offset)[0]))
    return op

def _prebuilt_165(memory, offset, x):
    unpack = S_9_unpack
    def op(s):
        s.append(unpack(memory.view, s[x] + offset)[0])
    return op

def _prebuilt_166(memory, offset, x):
    unpack = S_0_unpack
    def op(s):
        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFF))
    return op

def _prebuilt_167(memory, offset, x):
    unpack = S_1_unpack
    def op(s):
        s.append(unpack(memory.view, s[x] + offset)[0])
    return op

def _prebuilt_168(memory, offset, x):
    unpack = S_2_unpack
    def op(s):
        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFF))
    return op

def _prebuilt_169(memory, offset, x):
    unpack = S_3_unpack
    def op(s):
        s.append(unpack(memory.view, s[x] + offset)[0])
    return op

def _prebuilt_170(memory, offset, x):
    unpack = S_0_unpack
    def op(s):
        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFFFFFFFFFF))
    return op

def _prebuilt_171(memory, offset, x):
    unpack = S_2_unpack
    def op(s):
        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFFFFFFFFFF))
    return op

def _prebuilt_172(memory, offset, x):
    unpack = S_4_unpack
    def op(s):
        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFFFFFFFFFF))
    return op

def _prebuilt_173(memory, offset):
    unpack = S_5_unpack
    def op(s):
        s[-1] = unpack(memory.view, s[-1] + offset)[0]
    return op

def _prebuilt_174(memory, offset):
    unpack = S_7_unpack
    def op(s):
        s[-1] = unpack(memory.view, s[-1] + offset)[0]
    return op

def _prebuilt_175(memory, offset):
    unpack = S_5_unpack
    def op(s):
        s[-1] = f32_from_bits(unpack(memory.view, s[-1] + offset)[0])
    return op

def _prebuilt_176(memory, offset):
    unpack = S_9_unpack
    def op(s):
        s[-1] = unpack(memory.view, s[-1] + offset)[0]
    return op

def _prebuilt_177(memory, offset):
    unpack = S_0_unpack
    def op(s):
        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFF)
    return op

def _prebuilt_178(memory, offset):
    unpack = S_1_unpack
    def op(s):
        s[-1] = unpack(memory.view, s[-1] + offset)[0]
    return op

def _prebuilt_179(memory, offset):
    unpack = S_2_unpack
    def op(s):
        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFF)
    return op

def _prebuilt_180(memory, offset):
    unpack = S_3_unpack
    def op(s):
        s[-1] = unpack(memory.view, s[-1] + offset)[0]
    return op

def _prebuilt_181(memory, offset):
    unpack = S_0_unpack
    def op(s):
        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_182(memory, offset):
    unpack = S_2_unpack
    def op(s):
        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_183(memory, offset):
    unpack = S_4_unpack
    def op(s):
        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFFFFFFFFFF)
    return op

def _prebuilt_184(memory, offset):
    pack = S_5_pack
    def op(s):
        value = s.pop()
        pack(memory.view, s.pop() + offset, value)
    return op

def _prebuilt_185(memory, offset):
    pack = S_7_pack
    def op(s):
        value = s.pop()
        pack(memory.view, s.pop() + offset, value)
    return op

def _prebuilt_186(memory, offset):
    pack = S_5_pack
    def op(s):
        value = s.pop()
        pack(memory.view, s.pop() + offset, f32_bits(value))
    return op

def _prebuilt_187(memory, offset):
    pack = S_9_pack
    def op(s):
        value = s.pop()
        pack(memory.view, s.pop() + offset, value)
    return op

def _prebuilt_188(memory, offset):
    pack = S_1_pack
    def op(s):
        value = s.pop()
        pack(memory.view, s.pop() + offset, (value & 0xFF))
    return op

def _prebuilt_189(memory, offset):
    pack = S_3_pack
    def op(s):
        value = s.pop()
        pack(memory.view, s.pop() + offset, (value & 0xFFFF))
    return op

def _prebuilt_190(memory, offset):
    pack = S_5_pack
    def op(s):
        value = s.pop()
        pack(memory.view, s.pop() + offset, (value & 0xFFFFFFFF))
    return op

BY_SOURCE = {
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a + b) & 0xFFFFFFFF)\n': _prebuilt_0,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a - b) & 0xFFFFFFFF)\n': _prebuilt_1,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a * b) & 0xFFFFFFFF)\n': _prebuilt_2,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a & b)\n': _prebuilt_3,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a | b)\n': _prebuilt_4,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a ^ b)\n': _prebuilt_5,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a << (b & 31)) & 0xFFFFFFFF)\n': _prebuilt_6,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a >> (b & 31))\n': _prebuilt_7,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((((a ^ 0x80000000) - 0x80000000) >> (b & 31)) & 0xFFFFFFFF)\n': _prebuilt_8,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i32_rotl(a, b)\n': _prebuilt_9,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i32_rotr(a, b)\n': _prebuilt_10,
    'def op(s):\n    a = s[-1]\n    s[-1] = i32_clz(a)\n': _prebuilt_11,
    'def op(s):\n    a = s[-1]\n    s[-1] = i32_ctz(a)\n': _prebuilt_12,
    'def op(s):\n    a = s[-1]\n    s[-1] = popcnt(a)\n': _prebuilt_13,
    'def op(s):\n    a = s[-1]\n    s[-1] = (a == 0)\n': _prebuilt_14,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a == b)\n': _prebuilt_15,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a != b)\n': _prebuilt_16,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a < b)\n': _prebuilt_17,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a > b)\n': _prebuilt_18,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a <= b)\n': _prebuilt_19,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a >= b)\n': _prebuilt_20,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a ^ 0x80000000) < (b ^ 0x80000000))\n': _prebuilt_21,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a ^ 0x80000000) > (b ^ 0x80000000))\n': _prebuilt_22,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a ^ 0x80000000) <= (b ^ 0x80000000))\n': _prebuilt_23,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a ^ 0x80000000) >= (b ^ 0x80000000))\n': _prebuilt_24,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a + b) & 0xFFFFFFFFFFFFFFFF)\n': _prebuilt_25,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a - b) & 0xFFFFFFFFFFFFFFFF)\n': _prebuilt_26,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a * b) & 0xFFFFFFFFFFFFFFFF)\n': _prebuilt_27,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a << (b & 63)) & 0xFFFFFFFFFFFFFFFF)\n': _prebuilt_28,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a >> (b & 63))\n': _prebuilt_29,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i64_shr_s(a, b)\n': _prebuilt_30,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i64_rotl(a, b)\n': _prebuilt_31,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i64_rotr(a, b)\n': _prebuilt_32,
    'def op(s):\n    a = s[-1]\n    s[-1] = i64_clz(a)\n': _prebuilt_33,
    'def op(s):\n    a = s[-1]\n    s[-1] = i64_ctz(a)\n': _prebuilt_34,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a ^ 0x8000000000000000) < (b ^ 0x8000000000000000))\n': _prebuilt_35,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a ^ 0x8000000000000000) > (b ^ 0x8000000000000000))\n': _prebuilt_36,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a ^ 0x8000000000000000) <= (b ^ 0x8000000000000000))\n': _prebuilt_37,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = ((a ^ 0x8000000000000000) >= (b ^ 0x8000000000000000))\n': _prebuilt_38,
    'def op(s):\n    a = s[-1]\n    s[-1] = (a & 0xFFFFFFFF)\n': _prebuilt_39,
    'def op(s):\n    a = s[-1]\n    s[-1] = a\n': _prebuilt_40,
    'def op(s):\n    a = s[-1]\n    s[-1] = (((a ^ 0x80000000) - 0x80000000) & 0xFFFFFFFFFFFFFFFF)\n': _prebuilt_41,
    'def op(s):\n    a = s[-1]\n    s[-1] = ((((a & 0xFF) ^ 0x80) - 0x80) & 0xFFFFFFFF)\n': _prebuilt_42,
    'def op(s):\n    a = s[-1]\n    s[-1] = ((((a & 0xFFFF) ^ 0x8000) - 0x8000) & 0xFFFFFFFF)\n': _prebuilt_43,
    'def op(s):\n    a = s[-1]\n    s[-1] = ((((a & 0xFF) ^ 0x80) - 0x80) & 0xFFFFFFFFFFFFFFFF)\n': _prebuilt_44,
    'def op(s):\n    a = s[-1]\n    s[-1] = ((((a & 0xFFFF) ^ 0x8000) - 0x8000) & 0xFFFFFFFFFFFFFFFF)\n': _prebuilt_45,
    'def op(s):\n    a = s[-1]\n    s[-1] = ((((a & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000) & 0xFFFFFFFFFFFFFFFF)\n': _prebuilt_46,
    'def op(s):\n    a = s[-1]\n    s[-1] = fabs(a)\n': _prebuilt_47,
    'def op(s):\n    a = s[-1]\n    s[-1] = (-a)\n': _prebuilt_48,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = copysign(a, b)\n': _prebuilt_49,
    'def op(s):\n    a = s[-1]\n    s[-1] = fceil(a)\n': _prebuilt_50,
    'def op(s):\n    a = s[-1]\n    s[-1] = ffloor(a)\n': _prebuilt_51,
    'def op(s):\n    a = s[-1]\n    s[-1] = ftrunc(a)\n': _prebuilt_52,
    'def op(s):\n    a = s[-1]\n    s[-1] = fnearest(a)\n': _prebuilt_53,
    'def op(s):\n    a = s[-1]\n    s[-1] = f32_sqrt(a)\n': _prebuilt_54,
    'def op(s):\n    a = s[-1]\n    s[-1] = f64_sqrt(a)\n': _prebuilt_55,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = fmin(a, b)\n': _prebuilt_56,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = fmax(a, b)\n': _prebuilt_57,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = f32_round_arithmetic(a + b)\n': _prebuilt_58,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = f32_round_arithmetic(a - b)\n': _prebuilt_59,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = f32_round_arithmetic(a * b)\n': _prebuilt_60,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = f32_div(a, b)\n': _prebuilt_61,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a + b)\n': _prebuilt_62,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a - b)\n': _prebuilt_63,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = (a * b)\n': _prebuilt_64,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = f64_div(a, b)\n': _prebuilt_65,
    'def op(s):\n    a = s[-1]\n    s[-1] = f32_convert_i32_s(a)\n': _prebuilt_66,
    'def op(s):\n    a = s[-1]\n    s[-1] = f32_convert_i32_u(a)\n': _prebuilt_67,
    'def op(s):\n    a = s[-1]\n    s[-1] = f32_convert_i64_s(a)\n': _prebuilt_68,
    'def op(s):\n    a = s[-1]\n    s[-1] = f32_convert_i64_u(a)\n': _prebuilt_69,
    'def op(s):\n    a = s[-1]\n    s[-1] = float((a ^ 0x80000000) - 0x80000000)\n': _prebuilt_70,
    'def op(s):\n    a = s[-1]\n    s[-1] = float(a)\n': _prebuilt_71,
    'def op(s):\n    a = s[-1]\n    s[-1] = f64_convert_i64_s(a)\n': _prebuilt_72,
    'def op(s):\n    a = s[-1]\n    s[-1] = f32_demote(a)\n': _prebuilt_73,
    'def op(s):\n    a = s[-1]\n    s[-1] = f64_promote(a)\n': _prebuilt_74,
    'def op(s):\n    a = s[-1]\n    s[-1] = f32_bits(a)\n': _prebuilt_75,
    'def op(s):\n    a = s[-1]\n    s[-1] = f64_bits(a)\n': _prebuilt_76,
    'def op(s):\n    a = s[-1]\n    s[-1] = f32_from_bits(a)\n': _prebuilt_77,
    'def op(s):\n    a = s[-1]\n    s[-1] = f64_from_bits(a)\n': _prebuilt_78,
    'def op(s):\n    a = s[-1]\n    s[-1] = i32_trunc_sat_s(a)\n': _prebuilt_79,
    'def op(s):\n    a = s[-1]\n    s[-1] = i32_trunc_sat_u(a)\n': _prebuilt_80,
    'def op(s):\n    a = s[-1]\n    s[-1] = i64_trunc_sat_s(a)\n': _prebuilt_81,
    'def op(s):\n    a = s[-1]\n    s[-1] = i64_trunc_sat_u(a)\n': _prebuilt_82,
    'def op(s):\n    a = s[-1]\n    s[-1] = (a is None)\n': _prebuilt_83,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i32_div_s(a, b)\n': _prebuilt_84,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i32_div_u(a, b)\n': _prebuilt_85,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i32_rem_s(a, b)\n': _prebuilt_86,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i32_rem_u(a, b)\n': _prebuilt_87,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i64_div_s(a, b)\n': _prebuilt_88,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i64_div_u(a, b)\n': _prebuilt_89,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i64_rem_s(a, b)\n': _prebuilt_90,
    'def op(s):\n    b = s.pop()\n    a = s[-1]\n    s[-1] = i64_rem_u(a, b)\n': _prebuilt_91,
    'def op(s):\n    a = s[-1]\n    s[-1] = i32_trunc_s(a)\n': _prebuilt_92,
    'def op(s):\n    a = s[-1]\n    s[-1] = i32_trunc_u(a)\n': _prebuilt_93,
    'def op(s):\n    a = s[-1]\n    s[-1] = i64_trunc_s(a)\n': _prebuilt_94,
    'def op(s):\n    a = s[-1]\n    s[-1] = i64_trunc_u(a)\n': _prebuilt_95,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] + s[x]) & 0xFFFFFFFF)\n    return op\n': _prebuilt_96,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] + x) & 0xFFFFFFFF)\n    return op\n': _prebuilt_97,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] - s[x]) & 0xFFFFFFFF)\n    return op\n': _prebuilt_98,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] - x) & 0xFFFFFFFF)\n    return op\n': _prebuilt_99,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] * s[x]) & 0xFFFFFFFF)\n    return op\n': _prebuilt_100,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] * x) & 0xFFFFFFFF)\n    return op\n': _prebuilt_101,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] & s[x])\n    return op\n': _prebuilt_102,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] & x)\n    return op\n': _prebuilt_103,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] | s[x])\n    return op\n': _prebuilt_104,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] | x)\n    return op\n': _prebuilt_105,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] ^ s[x])\n    return op\n': _prebuilt_106,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] ^ x)\n    return op\n': _prebuilt_107,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] << (s[x] & 31)) & 0xFFFFFFFF)\n    return op\n': _prebuilt_108,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] << (x & 31)) & 0xFFFFFFFF)\n    return op\n': _prebuilt_109,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] >> (s[x] & 31))\n    return op\n': _prebuilt_110,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] >> (x & 31))\n    return op\n': _prebuilt_111,
    'def make(x):\n    def op(s):\n        s[-1] = ((((s[-1] ^ 0x80000000) - 0x80000000) >> (s[x] & 31)) & 0xFFFFFFFF)\n    return op\n': _prebuilt_112,
    'def make(x):\n    def op(s):\n        s[-1] = ((((s[-1] ^ 0x80000000) - 0x80000000) >> (x & 31)) & 0xFFFFFFFF)\n    return op\n': _prebuilt_113,
    'def make(x):\n    def op(s):\n        s[-1] = i32_rotl(s[-1], s[x])\n    return op\n': _prebuilt_114,
    'def make(x):\n    def op(s):\n        s[-1] = i32_rotl(s[-1], x)\n    return op\n': _prebuilt_115,
    'def make(x):\n    def op(s):\n        s[-1] = i32_rotr(s[-1], s[x])\n    return op\n': _prebuilt_116,
    'def make(x):\n    def op(s):\n        s[-1] = i32_rotr(s[-1], x)\n    return op\n': _prebuilt_117,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] == s[x])\n    return op\n': _prebuilt_118,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] == x)\n    return op\n': _prebuilt_119,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] != s[x])\n    return op\n': _prebuilt_120,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] != x)\n    return op\n': _prebuilt_121,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] < s[x])\n    return op\n': _prebuilt_122,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] < x)\n    return op\n': _prebuilt_123,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] > s[x])\n    return op\n': _prebuilt_124,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] > x)\n    return op\n': _prebuilt_125,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] <= s[x])\n    return op\n': _prebuilt_126,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] <= x)\n    return op\n': _prebuilt_127,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] >= s[x])\n    return op\n': _prebuilt_128,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] >= x)\n    return op\n': _prebuilt_129,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x80000000) < (s[x] ^ 0x80000000))\n    return op\n': _prebuilt_130,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x80000000) < (x ^ 0x80000000))\n    return op\n': _prebuilt_131,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x80000000) > (s[x] ^ 0x80000000))\n    return op\n': _prebuilt_132,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x80000000) > (x ^ 0x80000000))\n    return op\n': _prebuilt_133,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x80000000) <= (s[x] ^ 0x80000000))\n    return op\n': _prebuilt_134,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x80000000) <= (x ^ 0x80000000))\n    return op\n': _prebuilt_135,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x80000000) >= (s[x] ^ 0x80000000))\n    return op\n': _prebuilt_136,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x80000000) >= (x ^ 0x80000000))\n    return op\n': _prebuilt_137,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] + s[x]) & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_138,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] + x) & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_139,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] - s[x]) & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_140,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] - x) & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_141,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] * s[x]) & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_142,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] * x) & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_143,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] << (s[x] & 63)) & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_144,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] << (x & 63)) & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_145,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] >> (s[x] & 63))\n    return op\n': _prebuilt_146,
    'def make(x):\n    def op(s):\n        s[-1] = (s[-1] >> (x & 63))\n    return op\n': _prebuilt_147,
    'def make(x):\n    def op(s):\n        s[-1] = i64_shr_s(s[-1], s[x])\n    return op\n': _prebuilt_148,
    'def make(x):\n    def op(s):\n        s[-1] = i64_shr_s(s[-1], x)\n    return op\n': _prebuilt_149,
    'def make(x):\n    def op(s):\n        s[-1] = i64_rotl(s[-1], s[x])\n    return op\n': _prebuilt_150,
    'def make(x):\n    def op(s):\n        s[-1] = i64_rotl(s[-1], x)\n    return op\n': _prebuilt_151,
    'def make(x):\n    def op(s):\n        s[-1] = i64_rotr(s[-1], s[x])\n    return op\n': _prebuilt_152,
    'def make(x):\n    def op(s):\n        s[-1] = i64_rotr(s[-1], x)\n    return op\n': _prebuilt_153,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x8000000000000000) < (s[x] ^ 0x8000000000000000))\n    return op\n': _prebuilt_154,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x8000000000000000) < (x ^ 0x8000000000000000))\n    return op\n': _prebuilt_155,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x8000000000000000) > (s[x] ^ 0x8000000000000000))\n    return op\n': _prebuilt_156,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x8000000000000000) > (x ^ 0x8000000000000000))\n    return op\n': _prebuilt_157,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x8000000000000000) <= (s[x] ^ 0x8000000000000000))\n    return op\n': _prebuilt_158,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x8000000000000000) <= (x ^ 0x8000000000000000))\n    return op\n': _prebuilt_159,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x8000000000000000) >= (s[x] ^ 0x8000000000000000))\n    return op\n': _prebuilt_160,
    'def make(x):\n    def op(s):\n        s[-1] = ((s[-1] ^ 0x8000000000000000) >= (x ^ 0x8000000000000000))\n    return op\n': _prebuilt_161,
    'def make(memory, offset, x):\n    unpack = S_5_unpack\n    def op(s):\n        s.append(unpack(memory.view, s[x] + offset)[0])\n    return op\n': _prebuilt_162,
    'def make(memory, offset, x):\n    unpack = S_7_unpack\n    def op(s):\n        s.append(unpack(memory.view, s[x] + offset)[0])\n    return op\n': _prebuilt_163,
    'def make(memory, offset, x):\n    unpack = S_5_unpack\n    def op(s):\n        s.append(f32_from_bits(unpack(memory.view, s[x] + offset)[0]))\n    return op\n': _prebuilt_164,
    'def make(memory, offset, x):\n    unpack = S_9_unpack\n    def op(s):\n        s.append(unpack(memory.view, s[x] + offset)[0])\n    return op\n': _prebuilt_165,
    'def make(memory, offset, x):\n    unpack = S_0_unpack\n    def op(s):\n        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFF))\n    return op\n': _prebuilt_166,
    'def make(memory, offset, x):\n    unpack = S_1_unpack\n    def op(s):\n        s.append(unpack(memory.view, s[x] + offset)[0])\n    return op\n': _prebuilt_167,
    'def make(memory, offset, x):\n    unpack = S_2_unpack\n    def op(s):\n        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFF))\n    return op\n': _prebuilt_168,
    'def make(memory, offset, x):\n    unpack = S_3_unpack\n    def op(s):\n        s.append(unpack(memory.view, s[x] + offset)[0])\n    return op\n': _prebuilt_169,
    'def make(memory, offset, x):\n    unpack = S_0_unpack\n    def op(s):\n        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFFFFFFFFFF))\n    return op\n': _prebuilt_170,
    'def make(memory, offset, x):\n    unpack = S_2_unpack\n    def op(s):\n        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFFFFFFFFFF))\n    return op\n': _prebuilt_171,
    'def make(memory, offset, x):\n    unpack = S_4_unpack\n    def op(s):\n        s.append((unpack(memory.view, s[x] + offset)[0] & 0xFFFFFFFFFFFFFFFF))\n    return op\n': _prebuilt_172,
    'def make(memory, offset):\n    unpack = S_5_unpack\n    def op(s):\n        s[-1] = unpack(memory.view, s[-1] + offset)[0]\n    return op\n': _prebuilt_173,
    'def make(memory, offset):\n    unpack = S_7_unpack\n    def op(s):\n        s[-1] = unpack(memory.view, s[-1] + offset)[0]\n    return op\n': _prebuilt_174,
    'def make(memory, offset):\n    unpack = S_5_unpack\n    def op(s):\n        s[-1] = f32_from_bits(unpack(memory.view, s[-1] + offset)[0])\n    return op\n': _prebuilt_175,
    'def make(memory, offset):\n    unpack = S_9_unpack\n    def op(s):\n        s[-1] = unpack(memory.view, s[-1] + offset)[0]\n    return op\n': _prebuilt_176,
    'def make(memory, offset):\n    unpack = S_0_unpack\n    def op(s):\n        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFF)\n    return op\n': _prebuilt_177,
    'def make(memory, offset):\n    unpack = S_1_unpack\n    def op(s):\n        s[-1] = unpack(memory.view, s[-1] + offset)[0]\n    return op\n': _prebuilt_178,
    'def make(memory, offset):\n    unpack = S_2_unpack\n    def op(s):\n        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFF)\n    return op\n': _prebuilt_179,
    'def make(memory, offset):\n    unpack = S_3_unpack\n    def op(s):\n        s[-1] = unpack(memory.view, s[-1] + offset)[0]\n    return op\n': _prebuilt_180,
    'def make(memory, offset):\n    unpack = S_0_unpack\n    def op(s):\n        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_181,
    'def make(memory, offset):\n    unpack = S_2_unpack\n    def op(s):\n        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_182,
    'def make(memory, offset):\n    unpack = S_4_unpack\n    def op(s):\n        s[-1] = (unpack(memory.view, s[-1] + offset)[0] & 0xFFFFFFFFFFFFFFFF)\n    return op\n': _prebuilt_183,
    'def make(memory, offset):\n    pack = S_5_pack\n    def op(s):\n        value = s.pop()\n        pack(memory.view, s.pop() + offset, value)\n    return op\n': _prebuilt_184,
    'def make(memory, offset):\n    pack = S_7_pack\n    def op(s):\n        value = s.pop()\n        pack(memory.view, s.pop() + offset, value)\n    return op\n': _prebuilt_185,
    'def make(memory, offset):\n    pack = S_5_pack\n    def op(s):\n        value = s.pop()\n        pack(memory.view, s.pop() + offset, f32_bits(value))\n    return op\n': _prebuilt_186,
    'def make(memory, offset):\n    pack = S_9_pack\n    def op(s):\n        value = s.pop()\n        pack(memory.view, s.pop() + offset, value)\n    return op\n': _prebuilt_187,
    'def make(memory, offset):\n    pack = S_1_pack\n    def op(s):\n        value = s.pop()\n        pack(memory.view, s.pop() + offset, (value & 0xFF))\n    return op\n': _prebuilt_188,
    'def make(memory, offset):\n    pack = S_3_pack\n    def op(s):\n        value = s.pop()\n        pack(memory.view, s.pop() + offset, (value & 0xFFFF))\n    return op\n': _prebuilt_189,
    'def make(memory, offset):\n    pack = S_5_pack\n    def op(s):\n        value = s.pop()\n        pack(memory.view, s.pop() + offset, (value & 0xFFFFFFFF))\n    return op\n': _prebuilt_190,
}
