# The stand-in expert shell: Gaia's expert prompt.
PS1='[Expert@mds1:0]# '
