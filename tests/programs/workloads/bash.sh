# bash: this script IS the workload - the bash interpreting it runs under the preload. bash
# allocates for every word, variable, array element and string expansion and frees them right
# away, so loops over big strings, indexed and associative arrays and parameter expansions are a
# dense mix of small malloc/realloc/free. Only builtins run in the loops; a few $(...) subshells fork bash itself.
set -euo pipefail

# In-process proof that this bash runs on ptmem (read with a builtin, not a child process).
mapfile -t maps </proc/$$/maps
mapped=no
for l in "${maps[@]}"; do [[ $l == *libptmem* ]] && mapped=yes; done
echo "bash:/proc/\$\$/maps $mapped" >>"$PTMEM_PROBE"
unset maps

cksum_str() { cksum <<<"$1"; } # (a child process: quicker than bash substring loops)

# 1. a string grown by appending (realloc of one growing buffer)
s=""
for ((i = 0; i < 100000; i++)); do s+="item$i,"; done
echo "string ${#s} $(cksum_str "$s")"

# 2. indexed array, then sparse deletion and re-assignment
declare -a arr
for ((i = 0; i < 40000; i++)); do arr[i]="value-$((i * 7919 % 100003))"; done
for ((i = 0; i < 40000; i += 3)); do unset 'arr[i]'; done
for ((i = 0; i < 40000; i += 6)); do arr[i]="again-$i"; done
echo "array ${#arr[@]} ${arr[5]} ${arr[39996]} $(cksum_str "${arr[*]}")"

# 3. associative array: word counts
declare -A cnt
for ((i = 0; i < 150000; i++)); do
  k="w$(((i * 2654435761) % 1009))"
  cnt[$k]=$((${cnt[$k]:-0} + 1))
done
total=0 keys=0
for k in "${!cnt[@]}"; do total=$((total + cnt[$k])); keys=$((keys + 1)); done
echo "assoc $keys $total ${cnt[w0]} ${cnt[w17]}"
unset cnt

# 4. parameter expansions over a big string: substitution, case change, substrings, splitting
t=${s//item/IT}
u=${t^^}
v=${u,,}
IFS=, read -r -a parts <<<"$s"
w=""
for p in "${parts[@]:100:5000}"; do w+="${p#item}:"; done
echo "expand ${#t} ${#u} ${#v} ${#parts[@]} ${#w} $(cksum_str "$w")"

# 5. functions, local variables and recursion
fib() { local n=$1; if ((n < 2)); then echo "$n"; else local a b; a=$(fib $((n - 1))); b=$(fib $((n - 2))); echo $((a + b)); fi; }
echo "fib $(fib 12)"
build() { local -a local_arr; local j; for ((j = 0; j < $1; j++)); do local_arr+=("$j-$2"); done; echo "${#local_arr[@]}"; }
n=0
for ((i = 0; i < 150; i++)); do n=$((n + $(build 100 $i))); done
echo "locals $n"

# 6. printf -v and here-strings of large text, read line by line
printf -v big '%s\n' "${arr[@]}"
lines=0 chars=0
while IFS= read -r line; do lines=$((lines + 1)); chars=$((chars + ${#line})); done <<<"$big"
echo "read $lines $chars"
