#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  long lo=atol(argv[1]),hi=atol(argv[2]);
  for(long n=lo;n<=hi;n+=2){long m=n;while(m%2==0)m/=2;while(m%3==0)m/=3;while(m%5==0)m/=5;if(m!=1)continue;
    int N=(int)n;
    float*x=fftwf_alloc_real(n+2); fftwf_complex*y=fftwf_alloc_complex(n/2+1);
    fftwf_plan p=fftwf_plan_dft_r2c_1d(N,x,y,FFTW_MEASURE), q=fftwf_plan_dft_c2r_1d(N,y,x,FFTW_MEASURE);
    for(long j=0;j<n;j++)x[j]=(float)rand()/RAND_MAX-0.5f;
    int reps=(int)(2e7/n)+3; double best=1e9;
    for(int r=0;r<5;r++){double t=now();for(int i=0;i<reps;i++){fftwf_execute(p);fftwf_execute(q);}t=(now()-t)/reps;if(t<best)best=t;}
    printf("%ld %.4f\n",n,best*1e6); fflush(stdout);
    fftwf_destroy_plan(p);fftwf_destroy_plan(q);fftwf_free(x);fftwf_free(y);}
}
