;; Lanczos vector kernels in WebAssembly SIMD (f64x2), for a float32 basis and float64 work
;; vectors: the reorthogonalization sweeps over the basis that dominate a Lanczos step's own
;; time (hessian/vector.ts has the same kernels in plain JS, the reference and the fallback).
;;
;; Build: npm run kernels (scripts/build-kernels.mjs: wabt → src/linalg/kernels-wasm.ts).
;; Memory is imported (shared, so that growing it keeps the caller's views valid). Pointers are
;; byte offsets; a "row list" is an array of i32 byte offsets of float32 rows of length n.

(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; h[k] = Σ_i q_k[i] · w[i] for the m rows listed at $rows (f32 rows, f64 w, f64 h)
  (func (export "proj") (param $rows i32) (param $m i32) (param $w i32) (param $n i32) (param $h i32)
    (local $k i32) (local $i i32) (local $off4 i32) (local $off8 i32) (local $n2 i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $wv v128)
    (local $s f64)
    (local.set $n2 (i32.and (local.get $n) (i32.const -2)))
    ;; four rows per sweep: w is read once per four rows
    (block $done4
      (loop $rows4
        (br_if $done4 (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $m)))
        (local.set $q0 (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $q1 (i32.load offset=4 (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $q2 (i32.load offset=8 (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $q3 (i32.load offset=12 (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $a0 (v128.const f64x2 0 0))
        (local.set $a1 (v128.const f64x2 0 0))
        (local.set $a2 (v128.const f64x2 0 0))
        (local.set $a3 (v128.const f64x2 0 0))
        (local.set $i (i32.const 0))
        (block $end
          (loop $elems
            (br_if $end (i32.ge_s (local.get $i) (local.get $n2)))
            (local.set $off4 (i32.shl (local.get $i) (i32.const 2)))
            (local.set $off8 (i32.shl (local.get $i) (i32.const 3)))
            (local.set $wv (v128.load (i32.add (local.get $w) (local.get $off8))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q0) (local.get $off4)))) (local.get $wv))))
            (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q1) (local.get $off4)))) (local.get $wv))))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q2) (local.get $off4)))) (local.get $wv))))
            (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q3) (local.get $off4)))) (local.get $wv))))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br $elems)))
        ;; odd n: the last element
        (if (i32.lt_s (local.get $n2) (local.get $n))
          (then
            (local.set $off4 (i32.shl (local.get $n2) (i32.const 2)))
            (local.set $wv (f64x2.splat (f64.load (i32.add (local.get $w) (i32.shl (local.get $n2) (i32.const 3))))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $q0) (local.get $off4))))) (f64x2.replace_lane 1 (local.get $wv) (f64.const 0)))))
            (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $q1) (local.get $off4))))) (f64x2.replace_lane 1 (local.get $wv) (f64.const 0)))))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $q2) (local.get $off4))))) (f64x2.replace_lane 1 (local.get $wv) (f64.const 0)))))
            (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (f64x2.splat (f64.promote_f32 (f32.load (i32.add (local.get $q3) (local.get $off4))))) (f64x2.replace_lane 1 (local.get $wv) (f64.const 0)))))))
        (f64.store (i32.add (local.get $h) (i32.shl (local.get $k) (i32.const 3)))
          (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
        (f64.store offset=8 (i32.add (local.get $h) (i32.shl (local.get $k) (i32.const 3)))
          (f64.add (f64x2.extract_lane 0 (local.get $a1)) (f64x2.extract_lane 1 (local.get $a1))))
        (f64.store offset=16 (i32.add (local.get $h) (i32.shl (local.get $k) (i32.const 3)))
          (f64.add (f64x2.extract_lane 0 (local.get $a2)) (f64x2.extract_lane 1 (local.get $a2))))
        (f64.store offset=24 (i32.add (local.get $h) (i32.shl (local.get $k) (i32.const 3)))
          (f64.add (f64x2.extract_lane 0 (local.get $a3)) (f64x2.extract_lane 1 (local.get $a3))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $rows4)))
    ;; the remaining rows one at a time
    (block $done1
      (loop $rows1
        (br_if $done1 (i32.ge_s (local.get $k) (local.get $m)))
        (local.set $q0 (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $a0 (v128.const f64x2 0 0))
        (local.set $i (i32.const 0))
        (block $end1
          (loop $elems1
            (br_if $end1 (i32.ge_s (local.get $i) (local.get $n2)))
            (local.set $a0 (f64x2.add (local.get $a0)
              (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q0) (i32.shl (local.get $i) (i32.const 2)))))
                         (v128.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br $elems1)))
        (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
        (if (i32.lt_s (local.get $n2) (local.get $n))
          (then
            (local.set $s (f64.add (local.get $s)
              (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $q0) (i32.shl (local.get $n2) (i32.const 2)))))
                       (f64.load (i32.add (local.get $w) (i32.shl (local.get $n2) (i32.const 3)))))))))
        (f64.store (i32.add (local.get $h) (i32.shl (local.get $k) (i32.const 3))) (local.get $s))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $rows1))))

  ;; w[i] ← w[i] − Σ_k c[k] · q_k[i] over the m rows listed at $rows (coefficients c, f64)
  (func (export "sub") (param $rows i32) (param $m i32) (param $c i32) (param $w i32) (param $n i32)
    (local $k i32) (local $i i32) (local $off4 i32) (local $p i32) (local $n2 i32)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $wv v128)
    (local $d f64)
    (local.set $n2 (i32.and (local.get $n) (i32.const -2)))
    (block $done4
      (loop $rows4
        (br_if $done4 (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $m)))
        (local.set $q0 (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $q1 (i32.load offset=4 (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $q2 (i32.load offset=8 (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $q3 (i32.load offset=12 (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $c0 (f64x2.splat (f64.load (i32.add (local.get $c) (i32.shl (local.get $k) (i32.const 3))))))
        (local.set $c1 (f64x2.splat (f64.load offset=8 (i32.add (local.get $c) (i32.shl (local.get $k) (i32.const 3))))))
        (local.set $c2 (f64x2.splat (f64.load offset=16 (i32.add (local.get $c) (i32.shl (local.get $k) (i32.const 3))))))
        (local.set $c3 (f64x2.splat (f64.load offset=24 (i32.add (local.get $c) (i32.shl (local.get $k) (i32.const 3))))))
        (local.set $i (i32.const 0))
        (block $end
          (loop $elems
            (br_if $end (i32.ge_s (local.get $i) (local.get $n2)))
            (local.set $off4 (i32.shl (local.get $i) (i32.const 2)))
            (local.set $p (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3))))
            (local.set $wv (v128.load (local.get $p)))
            (local.set $wv (f64x2.sub (local.get $wv) (f64x2.mul (local.get $c0) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q0) (local.get $off4)))))))
            (local.set $wv (f64x2.sub (local.get $wv) (f64x2.mul (local.get $c1) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q1) (local.get $off4)))))))
            (local.set $wv (f64x2.sub (local.get $wv) (f64x2.mul (local.get $c2) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q2) (local.get $off4)))))))
            (local.set $wv (f64x2.sub (local.get $wv) (f64x2.mul (local.get $c3) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q3) (local.get $off4)))))))
            (v128.store (local.get $p) (local.get $wv))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br $elems)))
        (if (i32.lt_s (local.get $n2) (local.get $n))
          (then
            (local.set $off4 (i32.shl (local.get $n2) (i32.const 2)))
            (local.set $p (i32.add (local.get $w) (i32.shl (local.get $n2) (i32.const 3))))
            (local.set $d (f64.load (local.get $p)))
            (local.set $d (f64.sub (local.get $d) (f64.mul (f64x2.extract_lane 0 (local.get $c0)) (f64.promote_f32 (f32.load (i32.add (local.get $q0) (local.get $off4)))))))
            (local.set $d (f64.sub (local.get $d) (f64.mul (f64x2.extract_lane 0 (local.get $c1)) (f64.promote_f32 (f32.load (i32.add (local.get $q1) (local.get $off4)))))))
            (local.set $d (f64.sub (local.get $d) (f64.mul (f64x2.extract_lane 0 (local.get $c2)) (f64.promote_f32 (f32.load (i32.add (local.get $q2) (local.get $off4)))))))
            (local.set $d (f64.sub (local.get $d) (f64.mul (f64x2.extract_lane 0 (local.get $c3)) (f64.promote_f32 (f32.load (i32.add (local.get $q3) (local.get $off4)))))))
            (f64.store (local.get $p) (local.get $d))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $rows4)))
    (block $done1
      (loop $rows1
        (br_if $done1 (i32.ge_s (local.get $k) (local.get $m)))
        (local.set $q0 (i32.load (i32.add (local.get $rows) (i32.shl (local.get $k) (i32.const 2)))))
        (local.set $c0 (f64x2.splat (f64.load (i32.add (local.get $c) (i32.shl (local.get $k) (i32.const 3))))))
        (local.set $i (i32.const 0))
        (block $end1
          (loop $elems1
            (br_if $end1 (i32.ge_s (local.get $i) (local.get $n2)))
            (local.set $p (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3))))
            (v128.store (local.get $p)
              (f64x2.sub (v128.load (local.get $p))
                (f64x2.mul (local.get $c0) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q0) (i32.shl (local.get $i) (i32.const 2))))))))
            (local.set $i (i32.add (local.get $i) (i32.const 2)))
            (br $elems1)))
        (if (i32.lt_s (local.get $n2) (local.get $n))
          (then
            (local.set $p (i32.add (local.get $w) (i32.shl (local.get $n2) (i32.const 3))))
            (f64.store (local.get $p)
              (f64.sub (f64.load (local.get $p))
                (f64.mul (f64x2.extract_lane 0 (local.get $c0)) (f64.promote_f32 (f32.load (i32.add (local.get $q0) (i32.shl (local.get $n2) (i32.const 2))))))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $rows1))))
;; dst[i] ← f32(w[i] · s): a normalized float64 vector stored as a float32 basis row
  (func (export "store") (param $w i32) (param $s f64) (param $dst i32) (param $n i32)
    (local $i i32) (local $n2 i32) (local $sv v128)
    (local.set $n2 (i32.and (local.get $n) (i32.const -2)))
    (local.set $sv (f64x2.splat (local.get $s)))
    (block $end
      (loop $elems
        (br_if $end (i32.ge_s (local.get $i) (local.get $n2)))
        (v128.store64_lane 0 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
          (f32x4.demote_f64x2_zero (f64x2.mul (local.get $sv) (v128.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $elems)))
    (if (i32.lt_s (local.get $n2) (local.get $n))
      (then
        (f32.store (i32.add (local.get $dst) (i32.shl (local.get $n2) (i32.const 2)))
          (f32.demote_f64 (f64.mul (local.get $s) (f64.load (i32.add (local.get $w) (i32.shl (local.get $n2) (i32.const 3))))))))))

  ;; w ← w − a·q − b·p (float32 q, p; b = 0: no p) and returns ‖w‖²: the Lanczos recurrence
  (func (export "recur") (param $w i32) (param $a f64) (param $q i32) (param $b f64) (param $p i32) (param $n i32) (result f64)
    (local $i i32) (local $n2 i32) (local $av v128) (local $bv v128) (local $acc v128) (local $x v128) (local $ptr i32) (local $d f64)
    (local.set $n2 (i32.and (local.get $n) (i32.const -2)))
    (local.set $av (f64x2.splat (local.get $a)))
    (local.set $bv (f64x2.splat (local.get $b)))
    (local.set $acc (v128.const f64x2 0 0))
    (block $end
      (loop $elems
        (br_if $end (i32.ge_s (local.get $i) (local.get $n2)))
        (local.set $ptr (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $x (f64x2.sub (v128.load (local.get $ptr))
          (f64x2.mul (local.get $av) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2))))))))
        (local.set $x (f64x2.sub (local.get $x)
          (f64x2.mul (local.get $bv) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))))))))
        (v128.store (local.get $ptr) (local.get $x))
        (local.set $acc (f64x2.add (local.get $acc) (f64x2.mul (local.get $x) (local.get $x))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $elems)))
    (local.set $d (f64.add (f64x2.extract_lane 0 (local.get $acc)) (f64x2.extract_lane 1 (local.get $acc))))
    (if (i32.lt_s (local.get $n2) (local.get $n))
      (then
        (local.set $ptr (i32.add (local.get $w) (i32.shl (local.get $n2) (i32.const 3))))
        (f64.store (local.get $ptr)
          (f64.sub (f64.sub (f64.load (local.get $ptr))
            (f64.mul (local.get $a) (f64.promote_f32 (f32.load (i32.add (local.get $q) (i32.shl (local.get $n2) (i32.const 2)))))))
            (f64.mul (local.get $b) (f64.promote_f32 (f32.load (i32.add (local.get $p) (i32.shl (local.get $n2) (i32.const 2))))))))
        (local.set $d (f64.add (local.get $d) (f64.mul (f64.load (local.get $ptr)) (f64.load (local.get $ptr)))))))
    (local.get $d))

  ;; out[0] = qᵀw, out[1] = wᵀw (float32 q, float64 w)
  (func (export "dotnorm") (param $q i32) (param $w i32) (param $n i32) (param $out i32)
    (local $i i32) (local $n2 i32) (local $a v128) (local $b v128) (local $x v128) (local $sa f64) (local $sb f64) (local $wl f64)
    (local.set $n2 (i32.and (local.get $n) (i32.const -2)))
    (local.set $a (v128.const f64x2 0 0))
    (local.set $b (v128.const f64x2 0 0))
    (block $end
      (loop $elems
        (br_if $end (i32.ge_s (local.get $i) (local.get $n2)))
        (local.set $x (v128.load (i32.add (local.get $w) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $a (f64x2.add (local.get $a)
          (f64x2.mul (local.get $x) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $q) (i32.shl (local.get $i) (i32.const 2))))))))
        (local.set $b (f64x2.add (local.get $b) (f64x2.mul (local.get $x) (local.get $x))))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $elems)))
    (local.set $sa (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $a))))
    (local.set $sb (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b))))
    (if (i32.lt_s (local.get $n2) (local.get $n))
      (then
        (local.set $wl (f64.load (i32.add (local.get $w) (i32.shl (local.get $n2) (i32.const 3)))))
        (local.set $sa (f64.add (local.get $sa) (f64.mul (local.get $wl) (f64.promote_f32 (f32.load (i32.add (local.get $q) (i32.shl (local.get $n2) (i32.const 2))))))))
        (local.set $sb (f64.add (local.get $sb) (f64.mul (local.get $wl) (local.get $wl))))))
    (f64.store (local.get $out) (local.get $sa))
    (f64.store offset=8 (local.get $out) (local.get $sb)))
)
