# Writes the page the web service serves, then waits; exits 3 (a failure, which its
# restart policy answers) when /srv/crash appears, 0 on SIGTERM.
trap 'exit 0' TERM
echo "worker $(hostname) starting"
echo "$GREETING #$(cat /srv/runs 2>/dev/null || echo 0)" > /srv/index.html.tmp
mv /srv/index.html.tmp /srv/index.html
while true; do
	if [ -e /srv/crash ]; then
		rm /srv/crash
		echo $(( $(cat /srv/runs 2>/dev/null || echo 0) + 1 )) > /srv/runs
		echo "worker crashing"
		exit 3
	fi
	sleep 0.1 &
	wait $!
done
