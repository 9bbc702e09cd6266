#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on loopback, starting them where they are installed.
set -u

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
    done
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up && echo "postgresql: up" || echo "postgresql: NOT reachable on 127.0.0.1:5432"

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log 2>/dev/null || true
  fi
  for _ in $(seq 1 15); do redis_up && break; sleep 1; done
fi
redis_up && echo "redis: up" || echo "redis: NOT reachable on 127.0.0.1:6379"
exit 0
