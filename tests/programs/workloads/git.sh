# git: a repository built from generated files in several commits, then the commands that allocate
# the most: add/commit (index, trees), diff with rename detection, log with patches, blame, gc
# (pack-objects with delta search, as a child process), fsck, grep. Fixed author/committer names and
# dates make every object id deterministic, so the printed hashes compare across runs.
set -euo pipefail
export GIT_AUTHOR_NAME="PT Author" GIT_AUTHOR_EMAIL="author@example.com"
export GIT_COMMITTER_NAME="PT Committer" GIT_COMMITTER_EMAIL="committer@example.com"
export GIT_AUTHOR_DATE="2024-01-01T00:00:00Z" GIT_COMMITTER_DATE="2024-01-01T00:00:00Z"
g() { git -c init.defaultBranch=main -c gc.auto=0 -c pack.threads=1 -c core.pager=cat -c color.ui=false "$@"; }

g init -q repo
cd repo
gen() { # gen ROUND: 300 files of 50-400 lines whose content depends on the round
  local r=$1
  mkdir -p d00 d01 d02 d03 d04 d05 d06 d07 d08 d09 d10 d11
  awk -v r="$r" 'BEGIN {
    for (f = 0; f < 300; f++) {
      dir = sprintf("d%02d", f % 12)
      file = sprintf("%s/f%03d.txt", dir, f); n = 50 + (f * 37) % 350
      for (i = 0; i < n; i++) {
        v = (i % (7 + r) == 0 && f % 3 == r % 3) ? "changed in round " r : "stable"
        printf "file %d line %d %s %x\n", f, i, v, (f * 131 + i * 7) % 65521 > file
      }
      close(file)
    }
  }'
}
for r in 1 2 3 4 5; do
  gen "$r"
  [ "$r" = 3 ] && g mv d00 moved00
  [ "$r" = 4 ] && rm -f d01/f001.txt d01/f013.txt
  export GIT_AUTHOR_DATE="2024-01-0${r}T00:00:00Z" GIT_COMMITTER_DATE="2024-01-0${r}T00:00:00Z"
  g add -A
  g commit -q -m "round $r" -m "generated files, round $r"
  [ "$r" = 2 ] && g checkout -q -b side && gen 9 && g commit -q -am "side change" && g checkout -q main
done
export GIT_COMMITTER_DATE="2024-01-09T00:00:00Z" GIT_AUTHOR_DATE="2024-01-09T00:00:00Z"
g merge -X ours -m "merge side" side >merge.log || { cat merge.log; g status --short | head; exit 1; }
echo "== merge: $(grep -c Auto-merging merge.log) files auto-merged"; rm merge.log

echo "== rev-parse"; g rev-parse HEAD HEAD~1 side HEAD^{tree}
echo "== log"; g log --graph --format='%h %an %ad %s' --date=iso-strict
echo "== log --stat"; g log --stat --format='%H' -3 | tail -n 20
echo "== diff"; g diff --stat -M HEAD~3 HEAD | tail -n 5
g diff -M HEAD~3 HEAD | sha1sum
echo "== log -p"; g log -p --all | sha1sum
echo "== blame"; g blame -s moved00/f000.txt | sha1sum
echo "== grep"; g grep -c "changed in round" HEAD -- d05 | sed -n 1,5p
echo "== ls-tree"; g ls-tree -r HEAD | wc -l
echo "== gc"; g gc -q
g count-objects -v | grep -E '^(count|in-pack|packs|size-garbage)'
echo "== fsck"; g fsck --full --strict 2>&1
# Before the threaded repack: with one delta-search thread the pack layout is deterministic.
echo "== verify-pack"; g verify-pack -s .git/objects/pack/*.idx | grep -v chain | sort | sed -n 1,10p
# A repack whose delta search runs in 2 threads: the pack's layout may then differ between runs,
# so only the object count and fsck are printed.
echo "== repack (2 threads)"; g -c pack.threads=2 repack -q -a -d -f --window=50
g count-objects -v | grep -E '^(count|in-pack|packs)'
g fsck --full --strict 2>&1
echo "== clone (upload-pack and pack-objects on the other end of a pipe, index-pack threads)"
(cd .. && g clone -q --no-local repo clone && cd clone && g rev-parse HEAD && g fsck --strict 2>&1 && g status --short | wc -l)
echo "== archive"; g archive --format=tar HEAD | tar tf - | wc -l
echo "== rev-list"; g rev-list --objects --all | wc -l
