# Stand-in for $MDSDIR/scripts/MDSprofile.sh (mdstools integration tests, not Check Point code).
# Like the real profile: exports the Check Point variables, puts the MDS binaries on PATH and
# defines mdsenv as a shell function. Without this profile, mdsstat is "command not found".
[ -n "$MDSDIR" ] || return 1
export MDS_FWDIR="$MDSDIR"
export MDS_CPDIR="$MDSDIR/CPshrd-R81.20"
export FWDIR="$MDS_FWDIR"
export CPDIR="$MDS_CPDIR"
export MDSVERUTIL="$MDSDIR/scripts/MDSVerUtil"
case ":$PATH:" in *":$MDSDIR/bin:"*) ;; *) export PATH="$MDSDIR/bin:$PATH" ;; esac

# mdsenv            MDS-level context
# mdsenv <DMS>      that Domain Management Server's context; unknown DMS: message, return 1
mdsenv() {
    if [ $# -eq 0 ]; then
        export FWDIR="$MDS_FWDIR" CPDIR="$MDS_CPDIR"
        return 0
    fi
    case "$1" in
        dom1_Server | dom2_Server | dom3_Server)
            export FWDIR="$MDSDIR/customers/$1/CPsuite-R81.20/fw1"
            export CPDIR="$MDSDIR/customers/$1/CPshrd-R81.20"
            return 0
            ;;
        *)
            echo "mdsenv: $1: no such Domain Management Server" >&2
            return 1
            ;;
    esac
}
